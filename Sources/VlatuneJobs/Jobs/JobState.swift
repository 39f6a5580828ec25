import VlatuneSupport

/// The lifecycle of a job (CONTRACT §4):
/// `queued → starting → running → succeeded | failed | cancelled`, with `cancelling` during a
/// cancel's grace period and `lost` when the watcher vanished without recording an outcome.
public enum JobState: String, Sendable, Codable, CaseIterable {
  /// Admitted; waiting for its watcher or for GPU slots.
  case queued
  /// The watcher holds its slots and is starting the trainer.
  case starting
  /// The trainer is running.
  case running
  /// A cancel was requested; the trainer got SIGTERM and has a grace period.
  case cancelling
  /// The trainer exited 0 after a `completed` event.
  case succeeded
  /// The trainer failed (see the error code).
  case failed
  /// The job was cancelled.
  case cancelled
  /// The watcher disappeared without recording an outcome.
  case lost

  /// Terminal states never change.
  public var isTerminal: Bool {
    switch self {
    case .succeeded, .failed, .cancelled, .lost: true
    case .queued, .starting, .running, .cancelling: false
    }
  }

  /// The states that are not terminal.
  public static let active: [JobState] = allCases.filter { !$0.isTerminal }

  /// ``active`` as an SQL list, `'queued', 'starting', …`, for `state IN (…)`.
  static let activeSQL = active.map { "'\($0.rawValue)'" }.joined(separator: ", ")

  /// The exit status of `job wait` / `job start --wait` for a terminal state (CONTRACT §3).
  public var waitExitStatus: Int32 {
    switch self {
    case .succeeded: 0
    case .cancelled: 103
    case .failed, .lost: 100
    case .queued, .starting, .running, .cancelling: 101
    }
  }
}
