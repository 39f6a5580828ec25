import Dispatch
import Foundation
import VlatuneCore

/// Turns SIGINT and SIGTERM into a cancellation request so that a long command can unwind and
/// remove its temporary files instead of dying mid-write.
final class SignalTrap {
  private var sources: [any DispatchSourceSignal] = []
  private let signals: [Int32]

  /// Starts trapping `signals`; each one cancels `token`.
  init(_ signals: [Int32] = [SIGINT, SIGTERM], token: CancellationToken) {
    self.signals = signals
    for number in signals {
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
      source.setEventHandler { token.cancel(signal: number) }
      source.resume()
      sources.append(source)
    }
  }

  deinit {
    for source in sources { source.cancel() }
    for number in signals { signal(number, SIG_DFL) }
  }
}
