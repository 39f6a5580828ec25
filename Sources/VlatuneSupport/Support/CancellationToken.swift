import Synchronization

/// A flag that a signal handler (or a test) sets to ask a long operation to stop; the operation
/// calls ``check()`` at safe points and unwinds, removing its temporary files.
public final class CancellationToken: Sendable {
  private let signal = Atomic<Int32>(0)

  /// Creates a token that is not cancelled.
  public init() {}

  /// Requests cancellation, remembering the signal number for the exit status.
  public func cancel(signal number: Int32) {
    signal.store(number, ordering: .relaxed)
  }

  /// The signal that cancelled the operation, or `nil`.
  public var cancelledBy: Int32? {
    let value = signal.load(ordering: .relaxed)
    return value == 0 ? nil : value
  }

  /// Throws ``VlatuneError/interrupted(signal:)`` when cancellation was requested.
  public func check() throws {
    if let cancelledBy { throw VlatuneError.interrupted(signal: cancelledBy) }
  }
}
