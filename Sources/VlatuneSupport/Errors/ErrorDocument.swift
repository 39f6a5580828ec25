/// The error document printed with `--json` and returned as MCP `structuredContent`:
/// `{"schema_version": 1, "error": {"code", "message", "param", "retry_after_seconds", …}}`.
public struct ErrorDocument: Encodable, Sendable {
  /// The `error` object.
  public struct Body: Encodable, Sendable {
    /// Stable error code (`invalid_argument`, `rate_limited`, …).
    public var code: String
    /// What happened, with the value and the fix.
    public var message: String
    /// The parameter concerned.
    public var param: String?
    /// When a retry can succeed (temporary refusals).
    public var retryAfterSeconds: Double?
    /// Dataset findings (episode, step, field).
    public var findings: [Diagnostic]?
    /// Every invalid parameter.
    public var problems: [ParameterProblem]?
    /// Every policy file error with its line.
    public var policyProblems: [PolicyProblem]?

    enum CodingKeys: String, CodingKey {
      case code, message, param, findings, problems
      case retryAfterSeconds = "retry_after_seconds"
      case policyProblems = "policy_problems"
    }

    /// Encodes `param` and `retry_after_seconds` as `null` when absent; lists only when present.
    public func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(code, forKey: .code)
      try container.encode(message, forKey: .message)
      try container.encode(param, forKey: .param)
      try container.encode(retryAfterSeconds, forKey: .retryAfterSeconds)
      try container.encodeIfPresent(findings, forKey: .findings)
      try container.encodeIfPresent(problems, forKey: .problems)
      try container.encodeIfPresent(policyProblems, forKey: .policyProblems)
    }
  }

  /// Always 1.
  public var schemaVersion = 1
  /// The error.
  public var error: Body

  enum CodingKeys: String, CodingKey {
    case error
    case schemaVersion = "schema_version"
  }

  /// The document of an error.
  public init(_ error: VlatuneError) {
    var body = Body(
      code: error.code, message: error.message, param: error.param,
      retryAfterSeconds: error.retryAfterSeconds)
    switch error {
    case .invalidDataset(_, let findings): body.findings = findings
    case .invalidParameters(let problems): body.problems = problems
    case .invalidPolicy(_, let problems): body.policyProblems = problems
    default: break
    }
    self.error = body
  }

  /// A usage error that is not a ``VlatuneError`` (from the argument parser).
  public init(usage message: String) {
    error = Body(code: "invalid_argument", message: message)
  }
}
