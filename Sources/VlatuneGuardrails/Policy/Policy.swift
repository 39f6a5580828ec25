import VlatuneSupport

/// The effective policy (CONTRACT §8, docs/policy.md): which tools are hidden, what tools
/// without rules get, per-tool rules (allow/evaluate/deny, argument conditions, sliding-window
/// rate limits, required-argument validation) and global limits. It reads the seed's shape,
/// Intercept's shape and vlatune's extensions alike.
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

  /// A test on one argument of a call (Intercept's `conditions`): `path` is `args.NAME` or
  /// `args.NAME.KEY…`, `op` one of ``Condition/operators``.
  public struct Condition: Sendable, Equatable, Codable {
    /// `args.` and a dotted path into the arguments.
    public var path: String
    /// `eq`, `neq`, `in`, `not_in`, `lt`, `lte`, `gt`, `gte`, `regex`, `contains` or `exists`.
    public var op: String
    /// The value compared with (a list for `in`/`not_in`, a number for the comparisons, a
    /// boolean for `exists`, a pattern for `regex`).
    public var value: AnyJSONValue

    /// A condition.
    public init(path: String, op: String, value: JSONValue) {
      self.path = path
      self.op = op
      self.value = AnyJSONValue(value)
    }

    /// The operators Intercept defines, all honoured.
    public static let operators = [
      "eq", "neq", "in", "not_in", "lt", "lte", "gt", "gte", "regex", "contains", "exists",
    ]
  }

  /// One rule of a tool, evaluated in order.
  public struct Rule: Sendable, Equatable, Codable {
    /// The rule's name (shown in refusals).
    public var name: String?
    /// `allow` or `evaluate` (both: the call passes this rule when its conditions hold and its
    /// rate limit has room) or `deny` (always refuses).
    public var action: String
    /// What a refusal by this rule says (`on_deny`, or vlatune's `reason`).
    public var reason: String?
    /// The rule's rate limit.
    public var rateLimit: RateLimit?
    /// Whether the tool's required arguments must be present and non-empty.
    public var requiredArgs: Bool
    /// Conditions on the arguments, all of which must hold.
    public var conditions: [Condition]

    /// A rule.
    public init(
      name: String? = nil, action: String, reason: String?, rateLimit: RateLimit?, requiredArgs: Bool,
      conditions: [Condition] = []
    ) {
      self.name = name
      self.action = action
      self.reason = reason
      self.rateLimit = rateLimit
      self.requiredArgs = requiredArgs
      self.conditions = conditions
    }

    /// Whether the rule always refuses.
    public var denies: Bool { action == "deny" }

    enum CodingKeys: String, CodingKey {
      case name, action, reason, conditions
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
  /// `allow` (default) or `deny`: what a tool that `tools` does not list gets (Intercept's
  /// `default`; `"*"` rules do not list a tool).
  public var defaultAction: String
  /// Tools refused to every caller and left out of MCP's `tools/list` (`"*"` hides all).
  public var hide: [String] = []
  /// Rules per listed tool name (a listed tool may have no rules).
  public var tools: [String: [Rule]]
  /// Limits.
  public var limits: Limits
  /// `builtin` or the file's path.
  public var source: String
  /// `builtin` or `sha256:<first 16 hex>` of the file, recorded in the audit log.
  public var digest: String

  enum CodingKeys: String, CodingKey {
    case version, hide, tools, limits, source, digest
    case defaultAction = "default"
  }

  /// The tool names rules may be written for: every ``GuardedTool`` and `*`.
  public static var knownTools: [String] { GuardedTool.all.map(\.name) + ["*"] }

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
      "evaluate_policy": [
        Rule(action: "allow", reason: nil, rateLimit: RateLimit(max: 30, window: 3600), requiredArgs: true)
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

  /// Whether `hide` names the tool (or `*`).
  public func hides(_ tool: String) -> Bool { hide.contains(tool) || hide.contains("*") }

  /// Why every call of `tool` is refused before any rule runs, as Intercept decides it: the tool
  /// is hidden, or the default is `deny` and `tools` does not list it.
  public func standingRefusal(_ tool: String) -> VlatuneError? {
    if hides(tool) {
      return .policyDenied(message: "\(tool) is hidden by the policy \(source) (hide)")
    }
    if defaultAction == "deny" && tools[tool] == nil {
      return .policyDenied(
        message: "\(tool) is not permitted by the policy \(source) (default: deny, and tools does not list it)")
    }
    return nil
  }
}
