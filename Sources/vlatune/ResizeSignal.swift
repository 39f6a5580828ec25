import Dispatch
import Foundation
import Synchronization

/// SIGWINCH as a flag: set when the terminal is resized, cleared by the watch loop once it has
/// redrawn for the new width.
final class ResizeSignal {
  /// The flag the signal handler sets.
  private final class Flag: Sendable {
    let value = Atomic(false)
  }

  private let source: any DispatchSourceSignal
  private let flag = Flag()

  init() {
    signal(SIGWINCH, SIG_IGN)
    source = DispatchSource.makeSignalSource(signal: SIGWINCH, queue: .global())
    let flag = flag
    source.setEventHandler { flag.value.store(true, ordering: .relaxed) }
    source.resume()
  }

  /// Whether a resize arrived since the last ``clear()``.
  var resized: Bool { flag.value.load(ordering: .relaxed) }

  /// Clears the flag.
  func clear() { flag.value.store(false, ordering: .relaxed) }

  deinit {
    source.cancel()
    signal(SIGWINCH, SIG_DFL)
  }
}
