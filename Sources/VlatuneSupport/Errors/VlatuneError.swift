/// The one error type of the core library: every failure a user can see, with the facts needed
/// to say what happened, the value involved and what to do next.
///
/// Each case maps to a stable error code (``code``) for JSON output and to a sysexits-style exit
/// status (``exitStatus``) for the CLI.
public enum VlatuneError: Error, Sendable, Equatable {
  /// An argument is out of range or malformed.
  case invalidArgument(param: String, message: String)
  /// One or more parameters are invalid; every problem is listed.
  case invalidParameters([ParameterProblem])
  /// A policy file is malformed; every problem is listed with its line.
  case invalidPolicy(source: String, problems: [PolicyProblem])
  /// The dataset failed validation; `findings` lists every error found (episode, step, field).
  case invalidDataset(message: String, findings: [Diagnostic])
  /// An id, name or path does not exist.
  case notFound(kind: String, reference: String, hint: String)
  /// A reference matches more than one object.
  case ambiguous(kind: String, reference: String, candidates: [String])
  /// Something the command needs is not available (a trainer environment, a GPU).
  case resourceUnavailable(message: String)
  /// The output already exists and the command refuses to overwrite it.
  case outputExists(message: String)
  /// Too many admissions in the rate-limit window; retry after the given seconds.
  case rateLimited(message: String, retryAfter: Double)
  /// Too many jobs queued or running; retry later.
  case concurrencyLimited(message: String, retryAfter: Double?)
  /// The actor's GPU-hour budget would be exceeded; it frees after the given seconds.
  case budgetExhausted(message: String, retryAfter: Double)
  /// A policy rule or limit denies the request.
  case policyDenied(message: String)
  /// An idempotency key was reused with a different request.
  case idempotencyConflict(message: String)
  /// The operation was interrupted by a signal before it completed.
  case interrupted(signal: Int32)
  /// An input/output operation failed (disk full, unreadable file).
  case ioFailure(path: String, message: String)
  /// An invariant of vlatune itself was broken (a bug or a corrupt state directory).
  case internalError(message: String)
  /// The database stayed locked by another process past the busy timeout; `holders` names the
  /// processes holding its write lock when they can be found (`/proc/locks`).
  case databaseBusy(path: String, holders: [String] = [])
  /// The state database is damaged or is not a vlatune database; nothing was changed.
  case stateDamaged(path: String, detail: String)
}

extension VlatuneError {
  /// The stable machine-readable code used in `{"error": {"code": …}}` documents.
  public var code: String {
    switch self {
    case .invalidArgument, .ambiguous, .invalidParameters, .invalidPolicy: "invalid_argument"
    case .invalidDataset: "invalid_dataset"
    case .notFound: "not_found"
    case .resourceUnavailable: "resource_unavailable"
    case .outputExists: "output_exists"
    case .interrupted: "interrupted"
    case .rateLimited: "rate_limited"
    case .concurrencyLimited: "concurrency_limited"
    case .budgetExhausted: "budget_exhausted"
    case .policyDenied: "policy_denied"
    case .idempotencyConflict: "idempotency_conflict"
    case .ioFailure: "io_error"
    case .internalError: "internal"
    case .databaseBusy: "resource_unavailable"
    case .stateDamaged: "state_damaged"
    }
  }

  /// The process exit status for this error (sysexits codes, see CONTRACT §3).
  public var exitStatus: Int32 {
    switch self {
    case .invalidArgument, .ambiguous, .invalidParameters, .invalidPolicy, .idempotencyConflict: 64
    case .rateLimited, .concurrencyLimited, .budgetExhausted: 75
    case .policyDenied: 77
    case .invalidDataset, .stateDamaged: 65
    case .notFound: 66
    case .resourceUnavailable: 69
    case .internalError: 70
    case .databaseBusy: 69
    case .outputExists: 73
    case .ioFailure: 74
    case .interrupted(let signal): 128 + signal
    }
  }

  /// Seconds after which retrying can succeed, for temporary refusals.
  public var retryAfterSeconds: Double? {
    switch self {
    case .rateLimited(_, let seconds), .budgetExhausted(_, let seconds): seconds
    case .concurrencyLimited(_, let seconds): seconds
    default: nil
    }
  }

  /// The parameter the error is about, when there is one.
  public var param: String? {
    switch self {
    case .invalidArgument(let param, _): param
    case .invalidParameters(let problems): problems.first?.param
    case .invalidPolicy: "policy"
    case .ambiguous(let kind, _, _), .notFound(let kind, _, _): kind
    default: nil
    }
  }

  /// A one-paragraph human explanation: what happened, with the value, and what to do next.
  public var message: String {
    switch self {
    case .invalidArgument(let param, let message):
      "invalid value for \(param): \(message)"
    case .invalidParameters(let problems):
      problems.map(\.message).joined(separator: "; ")
    case .invalidPolicy(let source, let problems):
      "the policy \(source) has \(problems.count) error(s): "
        + problems.map(\.description).joined(separator: "; ")
    case .invalidDataset(let message, let findings):
      findings.isEmpty
        ? message
        : "\(message) (\(findings.count) error\(findings.count == 1 ? "" : "s"))"
    case .notFound(let kind, let reference, let hint):
      "no \(kind) matches '\(reference)'; \(hint)"
    case .ambiguous(let kind, let reference, let candidates):
      "'\(reference)' matches more than one \(kind): \(candidates.joined(separator: ", ")); "
        + "give more characters of the id or the full name"
    case .resourceUnavailable(let message):
      message
    case .outputExists(let message):
      message
    case .rateLimited(let message, _), .concurrencyLimited(let message, _),
      .budgetExhausted(let message, _), .policyDenied(let message),
      .idempotencyConflict(let message):
      message
    case .interrupted(let signal):
      "interrupted by signal \(signal); nothing was registered and temporary files were removed"
    case .ioFailure(let path, let message):
      "I/O error on \(path): \(message)"
    case .internalError(let message):
      "internal error: \(message)"
    case .databaseBusy(let path, let holders):
      holders.isEmpty
        ? "the database \(path) stayed locked by another process for 10 s (a long write transaction "
          + "in another program?); nothing was changed: retry once it is released"
        : "the database \(path) stayed locked by another process for 10 s: \(holders.joined(separator: ", ")) "
          + "\(holders.count == 1 ? "holds" : "hold") its write lock; nothing was changed: retry once it is "
          + "released, or end that process"
    case .stateDamaged(let path, let detail):
      "the state database \(path) is damaged (\(detail)); nothing was changed: run 'vlatune doctor "
        + "--check-state' to see what is damaged and how to recover (dataset packages and job directories "
        + "are not affected)"
    }
  }
}

extension VlatuneError: CustomStringConvertible {
  /// Same as ``message``.
  public var description: String { message }
}
