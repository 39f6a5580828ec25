/// The effective policy (CONTRACT §8): per-tool rules (allow/deny, sliding-window rate limits,
/// required-argument validation) and global limits.
public struct Policy: Sendable, Equatable, Codable {
  /// A sliding-window rate limit: at most `max` admissions in any `window` seconds.
  public struct RateLimit: Sendable, Equatable, Codable {
    /// Admissions allowed per window.
    public var max: Int
    /// Window length in seconds.
    public var window: Double

    /// At most `max` admissions in any `window` seconds.
    public init(max: Int, window: Double) {
      self.max = max
      self.window = window
    }
  }

  /// One rule of a tool, evaluated in order.
  public struct Rule: Sendable, Equatable, Codable {
    /// `allow` or `deny`.
    public var action: String
    /// Why a `deny` rule denies (shown to the caller).
    public var reason: String?
    /// The rule's rate limit.
    public var rateLimit: RateLimit?
    /// Whether the tool's required arguments must be present and non-empty.
    public var requiredArgs: Bool

    /// A rule.
    public init(action: String, reason: String?, rateLimit: RateLimit?, requiredArgs: Bool) {
      self.action = action
      self.reason = reason
      self.rateLimit = rateLimit
      self.requiredArgs = requiredArgs
    }

    enum CodingKeys: String, CodingKey {
      case action, reason
      case rateLimit = "rate_limit"
      case requiredArgs = "required_args"
    }
  }

  /// Global limits.
  public struct Limits: Sendable, Equatable, Codable {
    /// Jobs running at once; further jobs wait in `queued`.
    public var maxRunningJobs: Int
    /// Jobs waiting at once; beyond this starts are refused (75 `concurrency_limited`).
    public var maxQueuedJobs: Int
    /// Estimated GPU-hours an actor may start in any 24 h.
    public var gpuHoursPerDay: Double
    /// Glob patterns of allowed base models.
    public var baseModels: [String]
    /// Directories dataset sources must be inside (`~` is the home directory).
    public var datasetRoots: [String]
    /// Seconds one optimizer step is assumed to take on one GPU, for the GPU-hour estimate.
    public var stepSeconds: Double
    /// Hours an idempotency key is remembered.
    public var idempotencyTTLHours: Double
    /// Executors jobs may use.
    public var executors: [String] = ["local", "slurm"]
    /// The executor of a job that names none.
    public var defaultExecutor: String = "local"

    enum CodingKeys: String, CodingKey {
      case executors
      case defaultExecutor = "default_executor"
      case maxRunningJobs = "max_running_jobs"
      case maxQueuedJobs = "max_queued_jobs"
      case gpuHoursPerDay = "gpu_hours_per_day"
      case baseModels = "base_models"
      case datasetRoots = "dataset_roots"
      case stepSeconds = "step_seconds"
      case idempotencyTTLHours = "idempotency_ttl_hours"
    }
  }

  /// Always 1.
  public var version: Int
  /// `allow` (default) or `deny` for tools without rules.
  public var defaultAction: String
  /// Rules per tool name.
  public var tools: [String: [Rule]]
  /// Limits.
  public var limits: Limits
  /// `builtin` or the file's path.
  public var source: String
  /// `builtin` or `sha256:<first 16 hex>` of the file, recorded in the audit log.
  public var digest: String

  enum CodingKeys: String, CodingKey {
    case version, tools, limits, source, digest
    case defaultAction = "default"
  }

  /// The tool names rules may be written for.
  public static let knownTools = [
    "start_finetune_job", "prepare_dataset", "get_finetune_job", "list_finetune_jobs",
    "cancel_finetune_job", "list_datasets", "*",
  ]

  /// The policy in force when no file exists: the seed's limits, with no restriction on dataset
  /// locations.
  public static let builtin = Policy(
    version: 1, defaultAction: "allow",
    tools: [
      "start_finetune_job": [
        Rule(action: "allow", reason: nil, rateLimit: RateLimit(max: 10, window: 60), requiredArgs: true)
      ],
      "prepare_dataset": [
        Rule(action: "allow", reason: nil, rateLimit: RateLimit(max: 30, window: 3600), requiredArgs: false)
      ],
    ],
    limits: Limits(
      maxRunningJobs: 2, maxQueuedJobs: 20, gpuHoursPerDay: 48, baseModels: ["*"],
      datasetRoots: ["/"], stepSeconds: 1.0, idempotencyTTLHours: 24),
    source: "builtin", digest: "builtin")

  /// The rules that apply to a tool: its own, then the `*` rules.
  public func rules(for tool: String) -> [Rule] {
    (tools[tool] ?? []) + (tools["*"] ?? [])
  }
}
