import Foundation
import VlatuneStore
import VlatuneSupport

/// The one gate every tool call passes, from the CLI and MCP alike: the policy's ``Admission``
/// (hide, default, rules, conditions, rate limits) decided and audited in one `BEGIN IMMEDIATE`
/// transaction — except an allowed read (status, lists, show, verify) that no rate limit counts,
/// which needs no transaction and is audited in `audit.jsonl` only (a refused one is a row too).
/// A tool with a refusal of its own (`prepare_dataset`'s `dataset_roots`) passes it as `check`,
/// decided in the same transaction. `start_finetune_job` and `resume_finetune_job` run the same
/// ``Admission`` inside their own transaction, which also writes the job (idempotency, caps,
/// GPU-hour budget); every other tool comes here before it does anything.
public struct ToolGate: Sendable {
  let home: VlatuneHome
  let store: Store
  let policy: Policy
  let now: @Sendable () -> Date

  /// - Parameters:
  ///   - context: State directory, database, environment.
  ///   - policy: The policy in force.
  public init(context: VlatuneContext, policy: Policy, now: @escaping @Sendable () -> Date = Date.init) {
    self.init(home: context.home, store: context.store, policy: policy, now: now)
  }

  /// The gate of a state directory and its database.
  package init(home: VlatuneHome, store: Store, policy: Policy, now: @escaping @Sendable () -> Date = Date.init) {
    self.home = home
    self.store = store
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
  ///   - fingerprinted: What the audit log's `args_sha256` digests (default `arguments`).
  ///   - check: The tool's own refusal once the policy admits the call, in the same
  ///     transaction; a refusal records no limiter admission.
  public func admit(
    _ tool: String, actor: String, arguments: [String: JSONValue], reference: String?,
    fingerprinted: [String: JSONValue]? = nil, check: (@Sendable () -> VlatuneError?)? = nil
  ) throws {
    let digest = AuditLog.fingerprint(fingerprinted ?? arguments)
    let admission = Admission(policy: policy, tool: tool, actor: actor, now: Timestamp.milliseconds(now()))
    // A read with no counter to check decides from the policy alone: no write transaction for
    // `job status` polls. Its decision is appended to audit.jsonl; a refusal is also a row.
    if GuardedTool.named(tool)?.readOnly == true && !admission.countsCalls && check == nil {
      var refusal: VlatuneError?
      if case .failure(let error) = try admission.evaluate(nil, arguments: arguments) { refusal = error }
      let entry = AuditEntry(
        tool: tool, actor: actor, argsSha256: digest, policy: policy, reference: reference, at: now(),
        refusal: refusal)
      if let refusal {
        AuditLog.recordAlone(entry, store: store, home: home)
        throw refusal
      }
      AuditLog.appendFile(entry, home: home)
      return
    }
    let refusal: VlatuneError? = try store.write { database in
      var refusal: VlatuneError?
      switch try admission.evaluate(database, arguments: arguments) {
      case .failure(let error): refusal = error
      case .success(let limiters):
        refusal = check?()
        if refusal == nil { try Admission.record(database, limiters, reference: reference ?? tool) }
      }
      try AuditLog.record(
        database,
        AuditEntry(
          tool: tool, actor: actor, argsSha256: digest, policy: policy, reference: reference, at: now(),
          refusal: refusal), home: home)
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
        reference: nil, at: now(), refusal: error), store: store, home: home)
  }
}
