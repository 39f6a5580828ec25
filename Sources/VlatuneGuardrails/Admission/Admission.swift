import Foundation
import GRDB
import VlatuneSupport

/// The policy part of an admission decision, evaluated inside the caller's `BEGIN IMMEDIATE`
/// transaction, in Intercept's order: `hide`, then `default: deny` for an unlisted tool, then
/// the tool's rules and the `*` rules in order — a `deny` rule refuses, an `allow`/`evaluate`
/// rule refuses when a condition fails, required arguments are missing or its rate limit is
/// full. Rate limits are recorded only when every rule passes.
package struct Admission {
  let policy: Policy
  let tool: String
  let actor: String
  let now: Int64

  /// The admission of one call of `tool` by `actor` at `now` (ms) under `policy`.
  package init(policy: Policy, tool: String, actor: String, now: Int64) {
    self.policy = policy
    self.tool = tool
    self.actor = actor
    self.now = now
  }

  /// A rule with the limiter scope of its rate limit: a tool's own rules count per tool ×
  /// actor, `*` rules per actor across every tool (Intercept's `_global` counter).
  private struct ScopedRule {
    var rule: Policy.Rule
    var scope: String
    var label: String
  }

  /// Whether any rule that applies counts calls (and so needs the database).
  var countsCalls: Bool { scopedRules.contains { $0.rule.rateLimit != nil } }

  private var scopedRules: [ScopedRule] {
    let own = (policy.tools[tool] ?? []).enumerated().map { index, rule in
      ScopedRule(
        rule: rule, scope: "\(tool)|\(actor)|rule\(index)",
        label: rule.name.map { "rule '\($0)'" } ?? "tools.\(tool).rules[\(index)]")
    }
    let shared = (policy.tools["*"] ?? []).enumerated().map { index, rule in
      ScopedRule(
        rule: rule, scope: "*|\(actor)|rule\(index)",
        label: rule.name.map { "rule '\($0)'" } ?? "tools.*.rules[\(index)]")
    }
    return own + shared
  }

  /// Evaluates the rules (`database` may be `nil` only when none of them has a rate limit).
  ///
  /// - Returns: The limiters to record if the call is admitted, or the refusal.
  package func evaluate(_ database: Database?, arguments: [String: JSONValue]) throws
    -> Result<[(SlidingWindowLimiter, Int64)], VlatuneError>
  {
    if let refusal = policy.standingRefusal(tool) { return .failure(refusal) }
    var limiters: [(SlidingWindowLimiter, Int64)] = []
    for scoped in scopedRules {
      let rule = scoped.rule
      let denied = "\(tool) is denied by the policy \(policy.source), \(scoped.label)"
      if rule.denies {
        return .failure(.policyDenied(message: denied + (rule.reason.map { ": \($0)" } ?? "")))
      }
      if rule.requiredArgs, let missing = missingArguments(arguments) {
        return .failure(missing)
      }
      if let failed = rule.conditions.first(where: { !ConditionCheck.holds($0, in: arguments) }) {
        let detail = ConditionCheck.describe(failed, in: arguments)
        return .failure(
          .policyDenied(message: denied + ": " + (rule.reason.map { "\($0) (\(detail))" } ?? detail)))
      }
      if let limit = rule.rateLimit {
        guard let database else {
          throw VlatuneError.internalError(message: "a rate-limited rule was evaluated without its counters")
        }
        let limiter = SlidingWindowLimiter(scope: scoped.scope, limit: limit)
        let decision = try limiter.check(database, now: now)
        guard decision.allowed else {
          let retry = decision.retryAfter ?? limit.window
          let calls = scoped.scope.hasPrefix("*|") ? "tool call(s) of any tool" : "\(tool) call(s)"
          let detail =
            "at most \(limit.max) \(calls) per \(ParameterDefinition.format(limit.window)) s for \(actor); "
            + "retry in \(String(format: "%.1f", retry)) s"
          return .failure(
            .rateLimited(
              message: rule.reason.map { "\($0) (\(detail))" } ?? "rate limit reached: \(detail)",
              retryAfter: retry))
        }
        limiters.append((limiter, decision.effectiveNow))
      }
    }
    return .success(limiters)
  }

  /// The refusal for required arguments that are absent, `null` or blank.
  private func missingArguments(_ arguments: [String: JSONValue]) -> VlatuneError? {
    guard let guarded = GuardedTool.named(tool) else { return nil }
    let missing = guarded.required.filter { name in
      guard let value = arguments[name] else { return true }
      if let text = value.stringValue { return text.trimmingWhitespace().isEmpty }
      return value == .null
    }
    guard !missing.isEmpty else { return nil }
    return .invalidParameters(
      missing.map { name in
        if let definition = guarded.table?[name] {
          return ParameterProblem(param: name, message: "\(definition.label) is required: \(definition.help)")
        }
        return ParameterProblem(param: name, message: "\(name) is required (a non-empty string)")
      })
  }

  /// Records the admissions of every limiter.
  package static func record(_ database: Database, _ limiters: [(SlidingWindowLimiter, Int64)], reference: String)
    throws
  {
    for (limiter, time) in limiters { try limiter.record(database, at: time, reference: reference) }
  }

  /// Gives back every admission recorded for `reference` (a start that could not be handed on
  /// counts against no limit).
  package static func refund(_ database: Database, reference: String) throws {
    try database.execute(sql: "DELETE FROM rate_events WHERE ref = ?", arguments: [reference])
  }
}
