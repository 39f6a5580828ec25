import Foundation
import GRDB

/// The policy part of an admission decision, evaluated inside the caller's `BEGIN IMMEDIATE`
/// transaction: deny rules, required arguments, and every rate limit of the tool's rules.
struct Admission {
  let policy: Policy
  let tool: String
  let actor: String
  let now: Int64
  let table: ParameterTable

  /// Evaluates the rules.
  ///
  /// - Returns: The limiters to record if the call is admitted, or the refusal.
  func evaluate(_ database: Database, arguments: [String: JSONValue]) throws
    -> Result<[(SlidingWindowLimiter, Int64)], VlatuneError>
  {
    let rules = policy.rules(for: tool)
    if rules.isEmpty && policy.defaultAction == "deny" {
      return .failure(
        .policyDenied(message: "\(tool) is not permitted by the policy \(policy.source) (default: deny)"))
    }
    var limiters: [(SlidingWindowLimiter, Int64)] = []
    for (index, rule) in rules.enumerated() {
      if rule.action == "deny" {
        return .failure(
          .policyDenied(
            message: "\(tool) is denied by the policy \(policy.source)"
              + (rule.reason.map { ": \($0)" } ?? " (rule \(index + 1))")))
      }
      if rule.requiredArgs {
        let missing = table.definitions.filter { definition in
          guard definition.required else { return false }
          guard let value = arguments[definition.name] else { return true }
          if let text = value.stringValue { return text.trimmingWhitespace().isEmpty }
          return value == .null
        }
        if !missing.isEmpty {
          return .failure(
            .invalidParameters(
              missing.map { ParameterProblem(param: $0.name, message: "\($0.label) is required: \($0.help)") }))
        }
      }
      if let limit = rule.rateLimit {
        let limiter = SlidingWindowLimiter(scope: "\(tool)|\(actor)|rule\(index)", limit: limit)
        let decision = try limiter.check(database, now: now)
        guard decision.allowed, let _ = Optional(decision.effectiveNow) else {
          let retry = decision.retryAfter ?? limit.window
          return .failure(
            .rateLimited(
              message: "rate limit reached: at most \(limit.max) \(tool) call(s) per "
                + "\(ParameterDefinition.format(limit.window)) s for \(actor); retry in "
                + "\(String(format: "%.1f", retry)) s",
              retryAfter: retry))
        }
        limiters.append((limiter, decision.effectiveNow))
      }
    }
    return .success(limiters)
  }

  /// Records the admissions of every limiter.
  static func record(_ database: Database, _ limiters: [(SlidingWindowLimiter, Int64)], reference: String)
    throws
  {
    for (limiter, time) in limiters { try limiter.record(database, at: time, reference: reference) }
  }
}
