import Foundation
import VlatuneStore
import VlatuneSupport

/// The one gate every tool call passes, from the CLI and MCP alike: the policy's ``Admission``
/// (hide, default, rules, conditions, rate limits) decided and audited in one `BEGIN IMMEDIATE`
/// transaction — except an allowed read (status, lists, show, verify) that no rate limit counts,
/// which needs no transaction and is audited in `audit.jsonl` only (a refused one is a row too). `start_finetune_job` and `prepare_dataset` run the same ``Admission`` inside
/// their own transaction (with their budgets, caps and dataset roots); every other tool comes
/// here before it does anything.
public struct ToolGate: Sendable {
  let context: VlatuneContext
  let policy: Policy
  let now: @Sendable () -> Date

  /// - Parameters:
  ///   - context: State directory, database, environment.
  ///   - policy: The policy in force.
  public init(context: VlatuneContext, policy: Policy, now: @escaping @Sendable () -> Date = Date.init) {
    self.context = context
    self.policy = policy
    self.now = now
  }

  /// Admits one call or throws its refusal (77 denied, 75 rate-limited with
  /// `retryAfterSeconds`, 64 missing required arguments); either way the decision is audited.
  ///
  /// - Parameters:
  ///   - tool: The tool's name (``GuardedTool``).
  ///   - actor: Who calls, for limits and audit.
  ///   - arguments: The call's arguments, named as over MCP.
  ///   - reference: The job or dataset concerned, for the audit log.
  public func admit(
    _ tool: String, actor: String, arguments: [String: JSONValue], reference: String?
  ) throws {
    let digest = AuditLog.fingerprint(arguments)
    let admission = Admission(policy: policy, tool: tool, actor: actor, now: Timestamp.milliseconds(now()))
    // A read with no counter to check decides from the policy alone: no write transaction for
    // `job status` polls. Its decision is appended to audit.jsonl; a refusal is also a row.
    if GuardedTool.named(tool)?.readOnly == true && !admission.countsCalls {
      var refusal: VlatuneError?
      if case .failure(let error) = try admission.evaluate(nil, arguments: arguments) { refusal = error }
      let entry = AuditEntry(
        tool: tool, actor: actor, argsSha256: digest, policy: policy, reference: reference, at: now(),
        refusal: refusal)
      if let refusal {
        AuditLog.recordAlone(entry, store: context.store, home: context.home)
        throw refusal
      }
      AuditLog.appendFile(entry, home: context.home)
      return
    }
    let refusal: VlatuneError? = try context.store.write { database in
      var refusal: VlatuneError?
      switch try admission.evaluate(database, arguments: arguments) {
      case .failure(let error): refusal = error
      case .success(let limiters):
        try Admission.record(database, limiters, reference: reference ?? tool)
      }
      try AuditLog.record(
        database,
        AuditEntry(
          tool: tool, actor: actor, argsSha256: digest, policy: policy, reference: reference, at: now(),
          refusal: refusal), home: context.home)
      return refusal
    }
    if let refusal { throw refusal }
  }

  /// Records a call refused before admission (a malformed MCP envelope, arguments of the wrong
  /// type): nothing ran, and the log says so. Best effort: a failure to audit never hides the
  /// refusal itself.
  public func auditRefusal(
    _ tool: String, actor: String, arguments: [String: JSONValue], error: VlatuneError
  ) {
    AuditLog.recordAlone(
      AuditEntry(
        tool: tool, actor: actor, argsSha256: AuditLog.fingerprint(arguments), policy: policy,
        reference: nil, at: now(), refusal: error), store: context.store, home: context.home)
  }
}
