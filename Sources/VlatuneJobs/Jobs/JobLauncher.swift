import Foundation
import GRDB
import Glibc
import VlatuneDatasets
import VlatuneGuardrails
import VlatuneStore
import VlatuneSupport

/// `job start`: validates parameters against the parameter table, resolves them into a complete
/// spec, decides admission (policy, rate limits, idempotency, caps, budget) and registers the job
/// in one `BEGIN IMMEDIATE` transaction, then starts the detached watcher and returns once the
/// watcher has started the trainer, is waiting for a slot, or has failed.
public struct JobLauncher: Sendable {
  let context: VlatuneContext
  let policy: Policy
  let watcherExecutable: String
  let now: @Sendable () -> Date
  let makeID: @Sendable (String) -> String
  /// The tool name in policies and the audit log.
  public static let tool = "start_finetune_job"

  /// - Parameters:
  ///   - context: State directory, database, environment.
  ///   - policy: The policy in force.
  ///   - watcherExecutable: The `vlatune` binary that runs `job __watch`.
  public init(
    context: VlatuneContext, policy: Policy, watcherExecutable: String,
    now: @escaping @Sendable () -> Date = Date.init,
    makeID: @escaping @Sendable (String) -> String = Identifiers.random(prefix:)
  ) {
    self.context = context
    self.policy = policy
    self.watcherExecutable = watcherExecutable
    self.now = now
    self.makeID = makeID
  }

  /// The spec resolution of this launcher's context and policy.
  var resolver: JobSpecResolver { JobSpecResolver(context: context, policy: policy, now: now) }

  /// Starts a job (or, with `dryRun`, reports what would happen without consuming anything).
  ///
  /// - Parameters:
  ///   - arguments: Raw parameters (``JobParameters/table`` names).
  ///   - actor: Who asks, for limits and audit.
  /// - Throws: ``VlatuneError``: 64 invalid parameters or idempotency conflict, 65 damaged
  ///   dataset, 66 unknown dataset, 69 GPUs or trainer unavailable (the job is then `failed` with
  ///   `spawn_failed`), 75 rate/concurrency/budget limits (with `retryAfterSeconds`), 77 policy.
  public func start(_ arguments: [String: JSONValue], actor: String, dryRun: Bool = false) throws
    -> StartOutcome
  {
    let argsDigest = AuditLog.fingerprint(arguments)
    func refuse(_ error: VlatuneError) -> VlatuneError {
      audit(actor: actor, argsDigest: argsDigest, decision: "refused", error: error, reference: nil)
      return error
    }
    // A hidden or unlisted tool is refused before its arguments are even read.
    if let refusal = policy.standingRefusal(Self.tool) { throw refuse(refusal) }
    var request: JobRequest
    let spec: JobSpec
    do {
      request = try JobRequest(try forked(arguments), actor: actor)
      // A policy condition on `dry_run` sees it as the caller sent it.
      if dryRun { request.given["dry_run"] = .bool(true) }
      spec = try resolver.resolve(request, id: dryRun ? "job_dry_run" : makeID("job"))
      if !dryRun { try JobSpecResolver.checkMemory(spec, force: request[.force]) }
    } catch let error as VlatuneError {
      throw refuse(error)
    }
    let estimate =
      Double(request[.maxSteps]) * policy.limits.stepSeconds * Double(spec.gpus) / 3600
    let requestDigest = Self.requestDigest(request, spec: spec)
    if dryRun {
      let decision = try context.store.write { database in
        try decide(database, request: request, spec: spec, estimate: estimate, requestDigest: requestDigest)
      }
      var refusal: DryRunReport.Refusal?
      do {
        try JobSpecResolver.checkMemory(spec, force: request[.force])
      } catch let error as VlatuneError {
        refusal = .init(code: error.code, message: error.message, retryAfterSeconds: nil)
      }
      if refusal == nil, case .refused(let error) = decision {
        refusal = .init(code: error.code, message: error.message, retryAfterSeconds: error.retryAfterSeconds)
      }
      if refusal == nil, case .replay(let id) = decision {
        refusal = .init(
          code: "replay", message: "the idempotency key returns existing job \(id)", retryAfterSeconds: nil)
      }
      // A dry run consumes nothing, but what it was told is on record.
      let refused: VlatuneError? =
        if case .refused(let error) = decision { error } else { nil }
      audit(actor: actor, argsDigest: argsDigest, decision: "dry_run", error: refused, reference: nil)
      return .dryRun(
        DryRunReport(
          wouldStart: refusal == nil, refusal: refusal,
          parameters: request.parameters.mapValues(AnyJSONValue.init), spec: spec,
          estimatedGpuHours: estimate, policy: policy.digest))
    }

    let jobs = JobStore(store: context.store, now: now)
    JobDirectories.sweep(context.home.jobsURL.path, store: context.store)
    let lock = try JobDirectories.create(spec)
    let decision: Decision
    do {
      let record = try makeRecord(spec, request: request, estimate: estimate, requestDigest: requestDigest)
      decision = try context.store.write { database in
        let decision = try decide(
          database, request: request, spec: spec, estimate: estimate, requestDigest: requestDigest)
        var entry: AuditEntry
        switch decision {
        case .admit(let limiters):
          try Self.register(
            database, record, actor: actor, limiters: limiters, idempotencyKey: request.idempotencyKey,
            at: Timestamp.milliseconds(now()))
          entry = auditEntry(
            actor: actor, argsDigest: argsDigest, decision: "allowed", error: nil, reference: record.id)
          entry.outcome = AuditLog.pending
        case .replay(let id):
          entry = auditEntry(actor: actor, argsDigest: argsDigest, decision: "replayed", error: nil, reference: id)
        case .refused(let error):
          entry = auditEntry(actor: actor, argsDigest: argsDigest, decision: "refused", error: error, reference: nil)
        }
        try AuditLog.record(database, entry, home: context.home)
        return decision
      }
    } catch {
      // No row was written (a full disk, a damaged database): the directory goes with it.
      FileIO.removeTree(spec.jobDir)
      throw error
    }
    switch decision {
    case .refused(let error):
      FileIO.removeTree(spec.jobDir)
      throw error
    case .replay(let id):
      FileIO.removeTree(spec.jobDir)
      return .replayed(try jobs.document(id, replayed: true))
    case .admit:
      let handOff = JobHandOff(context: context, watcherExecutable: watcherExecutable, jobs: jobs)
      return .started(try handOff.run(spec, attempt: 1, lock: lock))
    }
  }

  enum Decision {
    case admit([(SlidingWindowLimiter, Int64)])
    case replay(String)
    case refused(VlatuneError)
  }

  /// The admission decision, inside the caller's transaction; writes nothing.
  private func decide(
    _ database: Database, request: JobRequest, spec: JobSpec, estimate: Double, requestDigest: String
  ) throws -> Decision {
    let nowMilliseconds = Timestamp.milliseconds(now())
    // `dataset rm` may have run since the dataset was resolved: in this transaction the package
    // either still exists (and rm now refuses, the job using it) or the start is refused.
    guard try DatasetCatalog.contains(database, id: spec.dataset.id, fingerprint: spec.dataset.fingerprint) else {
      return .refused(JobSpecResolver.removedDuringStart(spec.dataset.id))
    }
    if let key = request.idempotencyKey,
      let known = try IdempotencyKeys.check(
        database, actor: request.actor, key: key, requestDigest: requestDigest,
        ttlHours: policy.limits.idempotencyTTLHours, now: nowMilliseconds)
    {
      switch known {
      case .success(let job): return .replay(job)
      case .failure(let error): return .refused(error)
      }
    }
    let admission = Admission(
      policy: policy, tool: Self.tool, actor: request.actor, now: nowMilliseconds)
    let limiters: [(SlidingWindowLimiter, Int64)]
    switch try admission.evaluate(database, arguments: request.given) {
    case .failure(let error): return .refused(error)
    case .success(let found): limiters = found
    }
    if !policy.limits.baseModels.contains(where: { Glob.matches($0, request.baseModel) }) {
      return .refused(
        .policyDenied(
          message: "base model '\(request.baseModel)' is not in the policy's allow-list "
            + "(\(policy.limits.baseModels.joined(separator: ", ")))"))
    }
    if let refusal = try Self.capacityRefusal(database, policy: policy) { return .refused(refusal) }
    if let refusal = try Self.budgetRefusal(
      database, actor: request.actor, estimate: estimate, policy: policy, now: now())
    {
      return .refused(refusal)
    }
    return .admit(limiters)
  }

  /// SHA-256 of the request as resolved for idempotency: the validated parameters with the
  /// dataset replaced by its id and package fingerprint, without the key itself.
  static func requestDigest(_ request: JobRequest, spec: JobSpec) -> String {
    var canonical = request.parameters
    canonical["idempotency_key"] = nil
    canonical["dataset"] = .string("\(spec.dataset.id)@\(spec.dataset.fingerprint)")
    return AuditLog.fingerprint(canonical)
  }

  private func auditEntry(
    actor: String, argsDigest: String, decision: String, error: VlatuneError?, reference: String?
  ) -> AuditEntry {
    AuditEntry(
      tool: Self.tool, actor: actor, argsSha256: argsDigest, policy: policy, reference: reference,
      at: now(), refusal: error, decision: decision)
  }

  private func audit(actor: String, argsDigest: String, decision: String, error: VlatuneError?, reference: String?) {
    AuditLog.recordAlone(
      auditEntry(actor: actor, argsDigest: argsDigest, decision: decision, error: error, reference: reference),
      store: context.store, home: context.home)
  }

  private func makeRecord(_ spec: JobSpec, request: JobRequest, estimate: Double, requestDigest: String)
    throws -> JobRecord
  {
    try JobRecord(
      queued: spec, actor: request.actor, idempotencyKey: request.idempotencyKey, estimatedGpuHours: estimate,
      requestSha256: requestDigest)
  }

  /// Registers an admitted job inside its admitting transaction (`job start`, `job eval`): the
  /// row, its `→ queued` event, the rate-limit admissions and the idempotency key.
  static func register(
    _ database: Database, _ record: JobRecord, actor: String, limiters: [(SlidingWindowLimiter, Int64)],
    idempotencyKey: String?, at milliseconds: Int64
  ) throws {
    try record.insert(database)
    try JobStore.appendEvent(database, job: record.id, at: record.createdAt, from: nil, to: .queued, actor: actor)
    try Admission.record(database, limiters, reference: record.id)
    if let idempotencyKey, let digest = record.requestSha256 {
      try IdempotencyKeys.record(
        database, actor: actor, key: idempotencyKey, requestDigest: digest, job: record.id, at: milliseconds)
    }
  }
}
