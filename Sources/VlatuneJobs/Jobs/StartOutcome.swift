import VlatuneSupport

/// What `job start` did.
public enum StartOutcome: Sendable {
  /// A new job was admitted and its watcher started.
  case started(JobDocument)
  /// The idempotency key matched an earlier identical request: its job, `replayed: true`.
  case replayed(JobDocument)
  /// `--dry-run`: what would happen, nothing consumed.
  case dryRun(DryRunReport)

  /// The job document (or `nil` for a dry run).
  public var document: JobDocument? {
    switch self {
    case .started(let document), .replayed(let document): document
    case .dryRun: nil
    }
  }
}

/// The result of `job start --dry-run`.
public struct DryRunReport: Codable, Sendable {
  /// Always 1.
  public var schemaVersion = 1
  /// Whether a real start would be admitted now.
  public var wouldStart: Bool
  /// The refusal a real start would get.
  public var refusal: Refusal?
  /// The validated parameters with defaults.
  public var parameters: [String: AnyJSONValue]
  /// The resolved spec.
  public var spec: JobSpec
  /// GPU-hours counted against the actor's budget.
  public var estimatedGpuHours: Double
  /// The policy in force.
  public var policy: String

  /// Why a start would be refused.
  public struct Refusal: Codable, Sendable {
    /// Error code.
    public var code: String
    /// Message.
    public var message: String
    /// Seconds until a retry could succeed.
    public var retryAfterSeconds: Double?

    enum CodingKeys: String, CodingKey {
      case code, message
      case retryAfterSeconds = "retry_after_seconds"
    }
  }

  enum CodingKeys: String, CodingKey {
    case refusal, parameters, spec, policy
    case schemaVersion = "schema_version"
    case wouldStart = "would_start"
    case estimatedGpuHours = "estimated_gpu_hours"
  }
}
