import Foundation
import GRDB
import VlatuneDatasets
import VlatuneGuardrails
import VlatuneStore
import VlatuneSupport

/// `job resume` / `resume_finetune_job`: continues a job that has ended (cancelled, failed, lost
/// or succeeded) from one of its checkpoints — adapter, optimizer, scheduler, RNG and data
/// position — as the same job id with a new attempt (`job_attempts`).
///
/// A resume is admitted like a start, in one `BEGIN IMMEDIATE` transaction: the policy's rules
/// for `resume_finetune_job` with its own arguments, and for `start_finetune_job` with the
/// job's stored parameters (so a policy that limits starts limits resumes too), the base-model
/// allow-list, the job caps and the GPU-hour budget for the steps still to run. Its rate-limit
/// admissions are recorded as `<id>@<attempt>` and refunded like a start's when the attempt
/// cannot be started. Resuming a job that is still active is refused (64), so a retried resume
/// never runs an attempt twice.
public struct JobResumer: Sendable {
  let context: VlatuneContext
  let policy: Policy
  let watcherExecutable: String
  let now: @Sendable () -> Date
  /// The tool name in policies and the audit log.
  public static let tool = "resume_finetune_job"
  /// How long a resume waits for the previous attempt's watcher to let go of the job's lock.
  static let lockWait = 5.0

  /// - Parameters:
  ///   - context: State directory, database, environment.
  ///   - policy: The policy in force.
  ///   - watcherExecutable: The `vlatune` binary that runs `job __watch`.
  public init(
    context: VlatuneContext, policy: Policy, watcherExecutable: String,
    now: @escaping @Sendable () -> Date = Date.init
  ) {
    self.context = context
    self.policy = policy
    self.watcherExecutable = watcherExecutable
    self.now = now
  }

  /// Resumes a job (``ResumeParameters/table`` arguments).
  ///
  /// - Throws: ``VlatuneError``: 64 bad arguments, a job still active, no such checkpoint or
  ///   `max_steps` not beyond it; 66 unknown job or its dataset removed; 69 the watcher cannot
  ///   start; 75 rate, concurrency or budget limits, or the previous watcher still finishing;
  ///   77 policy.
  public func resume(_ arguments: [String: JSONValue], actor: String) throws -> JobDocument {
    let argsDigest = AuditLog.fingerprint(arguments)
    func refuse(_ error: VlatuneError, reference: String? = nil) -> VlatuneError {
      AuditLog.recordAlone(
        AuditEntry(
          tool: Self.tool, actor: actor, argsSha256: argsDigest, policy: policy, reference: reference,
          at: now(), refusal: error),
        store: context.store, home: context.home)
      return error
    }
    if let refusal = policy.standingRefusal(Self.tool) { throw refuse(refusal) }
    if let refusal = policy.standingRefusal(JobLauncher.tool) { throw refuse(refusal) }
    // The policy answers before the tool looks at the job, as a proxy in front would: a denied or
    // rate-limited resume says so even when the job could not be resumed anyway. (Checked again,
    // and recorded, in the admitting transaction.)
    let early = try context.store.read { database in
      try Admission(policy: policy, tool: Self.tool, actor: actor, now: Timestamp.milliseconds(now()))
        .evaluate(database, arguments: arguments)
    }
    if case .failure(let error) = early { throw refuse(error) }
    let jobs = JobStore(store: context.store, now: now)
    let values: ParameterValues
    let record: JobRecord
    let plan: Plan
    do {
      values = ParameterValues(try ResumeParameters.table.validate(arguments))
      record = try jobs.resolve(values[.job] ?? "")
      plan = try Self.plan(record, values: values, jobs: jobs, policy: policy, environment: context.environment)
    } catch let error as VlatuneError {
      throw refuse(error)
    }
    // The previous attempt's watcher may still be recording its outcome.
    let deadline = Date().addingTimeInterval(Self.lockWait)
    var held = try FileLock.tryLock(record.jobDir + "/watcher.lock")
    while held == nil && Date() < deadline {
      usleep(20_000)
      held = try FileLock.tryLock(record.jobDir + "/watcher.lock")
    }
    guard let lock = held else {
      throw refuse(
        .concurrencyLimited(
          message: "the watcher of job \(record.id) is still finishing; retry in a few seconds",
          retryAfter: 2),
        reference: record.id)
    }
    let staged = record.jobDir + "/spec.json.new"
    try FileIO.write(Array((try JSONOutput.string(plan.spec) + "\n").utf8), to: staged, mode: 0o600)
    let outcome: Result<String, VlatuneError>
    do {
      outcome = try context.store.write { database in
        try admit(database, record: record, plan: plan, arguments: arguments, actor: actor, argsDigest: argsDigest)
      }
    } catch {
      FileIO.removeTree(staged)
      throw error
    }
    let admittedAt: String
    switch outcome {
    case .failure(let error):
      FileIO.removeTree(staged)
      throw error
    case .success(let at):
      admittedAt = at
    }
    guard rename(staged, record.jobDir + "/spec.json") == 0 else {
      let message = String(cString: strerror(errno))
      FileIO.removeTree(staged)
      try context.store.write { database in
        _ = try jobs.transition(
          database, record.id, from: [.queued], to: .failed, actor: "launcher",
          set: [(.errorCode, "spawn_failed"), (.errorMessage, "cannot write spec.json: \(message)")])
        try AdmissionRefund.refund(
          database, jobID: record.id, attempt: plan.attempt, reason: "cannot write spec.json: \(message)",
          home: context.home)
      }
      throw VlatuneError.ioFailure(path: record.jobDir + "/spec.json", message: message)
    }
    let handOff = JobHandOff(context: context, watcherExecutable: watcherExecutable, jobs: jobs)
    _ = try handOff.run(plan.spec, attempt: plan.attempt, lock: lock)
    // Checkpoints an earlier attempt wrote after the step this one continues from belong to a
    // continuation that is abandoned: they leave the job's list (`last`, `init_from` and `job
    // checkpoints` never pick them); the new attempt's own, written since, stay.
    try context.store.write { database in
      try database.execute(
        sql: "DELETE FROM job_checkpoints WHERE job_id = ? AND step > ? AND created_at < ?",
        arguments: [record.id, plan.checkpoint.step, admittedAt])
    }
    return try jobs.document(record.id)
  }

  /// What a resume will do: the new spec, the attempt and the checkpoint.
  struct Plan {
    var spec: JobSpec
    var attempt: Int
    var checkpoint: JobDocument.Checkpoint
    var maxSteps: Int
    var estimate: Double
    /// The `start_finetune_job` arguments this attempt amounts to (for the policy).
    var startArguments: [String: JSONValue]
  }

  /// Checks that the job can be resumed and builds the new spec (64 with the reason when not).
  static func plan(
    _ record: JobRecord, values: ParameterValues, jobs: JobStore, policy: Policy,
    environment: [String: String]
  ) throws -> Plan {
    func problem(_ param: String, _ message: String) -> VlatuneError {
      .invalidParameters([ParameterProblem(param: param, message: message)])
    }
    guard record.kind == "train" else {
      throw problem(
        "job",
        "job \(record.id) is an evaluation job; evaluations are not resumed: start it again with 'vlatune "
          + "job eval' (the same seed runs the same episodes)")
    }
    guard record.state.isTerminal else {
      throw problem(
        "job",
        "job \(record.id) is \(record.state.rawValue); only a job that has ended can be resumed: wait "
          + "for it ('vlatune job wait \(record.id)') or cancel it first")
    }
    var spec = try JSONOutput.decode(JobSpec.self, from: Data(record.spec.utf8))
    let checkpoint = try choose(values[.checkpoint], record: record, jobs: jobs)
    let maxSteps = values[.resumeMaxSteps] ?? spec.hyperparameters.maxSteps
    guard maxSteps > checkpoint.step else {
      throw problem(
        "max_steps",
        "max_steps (--max-steps) \(maxSteps) must be more than the checkpoint's step \(checkpoint.step); "
          + "pass --max-steps \(checkpoint.step + max(spec.hyperparameters.maxSteps, 1)) to train on")
    }
    if spec.tracker == "mlflow" && (environment["MLFLOW_TRACKING_URI"] ?? "").isEmpty {
      throw problem(
        "job",
        "job \(record.id) logs to MLflow (tracker mlflow): set MLFLOW_TRACKING_URI to the tracking server")
    }
    let attempt = record.attempt + 1
    spec.hyperparameters.maxSteps = maxSteps
    spec.resume = JobSpec.Resume(checkpoint: checkpoint.path, step: checkpoint.step, attempt: attempt)
    var startArguments = spec.storedParameters
    startArguments["max_steps"] = .number(Double(maxSteps))
    if spec.parameters != nil {
      spec.parameters?["max_steps"] = AnyJSONValue(.number(Double(maxSteps)))
    }
    let estimate =
      Double(maxSteps - checkpoint.step) * policy.limits.stepSeconds * Double(spec.gpus) / 3600
    return Plan(
      spec: spec, attempt: attempt, checkpoint: checkpoint, maxSteps: maxSteps, estimate: estimate,
      startArguments: startArguments)
  }

  /// The checkpoint `last`, `best` or a step names (only complete ones: `trainer_state.json`).
  static func choose(_ choice: String, record: JobRecord, jobs: JobStore) throws -> JobDocument.Checkpoint {
    let complete = try jobs.checkpoints(record.id).filter {
      FileIO.kind($0.path + "/trainer_state.json") == .regular
    }
    func problem(_ message: String) -> VlatuneError {
      .invalidParameters([ParameterProblem(param: "checkpoint", message: "checkpoint (--checkpoint) \(message)")])
    }
    let steps = complete.map { "\($0.step)" }.joined(separator: ", ")
    guard !complete.isEmpty else {
      throw problem(
        "job \(record.id) has no complete checkpoint to resume from (it stopped before its first); "
          + "start it again with 'vlatune job start --from \(record.id)'")
    }
    switch choice {
    case "last":
      return complete.max { $0.step < $1.step }!
    case "best":
      // The evals of the training that led here (superseded attempts left out), at steps that
      // have a complete checkpoint; lowest val_l1, else val_loss.
      let history = try jobs.store.read { try MetricsHistory.load($0, jobID: record.id, kind: "eval") }
      let evaluated = MetricsHistory(
        points: history.points.filter { point in complete.contains { $0.step == point.step } })
      guard let best = evaluated.bestEval, let match = complete.first(where: { $0.step == best.step }) else {
        throw problem(
          "best: job \(record.id) has no evaluated checkpoint (checkpoints at steps \(steps)); use last or a step")
      }
      return match
    default:
      guard let step = Int(choice), step >= 0 else {
        throw problem("must be last, best or a step number, got '\(choice)'")
      }
      guard let match = complete.first(where: { $0.step == step }) else {
        throw problem("job \(record.id) has no complete checkpoint at step \(step); it has steps \(steps)")
      }
      return match
    }
  }

  /// The admission and the new attempt, in the caller's transaction: its admission time, or
  /// `.failure` when refused (audited, nothing else written).
  private func admit(
    _ database: Database, record: JobRecord, plan: Plan, arguments: [String: JSONValue], actor: String,
    argsDigest: String
  ) throws -> Result<String, VlatuneError> {
    func refused(_ error: VlatuneError) throws -> Result<String, VlatuneError> {
      try AuditLog.record(
        database,
        AuditEntry(
          tool: Self.tool, actor: actor, argsSha256: argsDigest, policy: policy, reference: record.id,
          at: now(), refusal: error),
        home: context.home)
      return .failure(error)
    }
    guard try DatasetCatalog.contains(database, id: plan.spec.dataset.id, fingerprint: plan.spec.dataset.fingerprint)
    else {
      return try refused(
        .notFound(
          kind: "dataset", reference: plan.spec.dataset.id,
          hint: "the package job \(record.id) trained on was removed or prepared again; prepare it "
            + "and start a new job with --from \(record.id) --dataset NAME"))
    }
    let milliseconds = Timestamp.milliseconds(now())
    var limiters: [(SlidingWindowLimiter, Int64)] = []
    for (tool, toolArguments) in [(Self.tool, arguments), (JobLauncher.tool, plan.startArguments)] {
      switch try Admission(policy: policy, tool: tool, actor: actor, now: milliseconds)
        .evaluate(database, arguments: toolArguments)
      {
      case .failure(let error): return try refused(error)
      case .success(let found): limiters += found
      }
    }
    if !policy.limits.baseModels.contains(where: { Glob.matches($0, plan.spec.baseModel) }) {
      return try refused(
        .policyDenied(
          message: "base model '\(plan.spec.baseModel)' is not in the policy's allow-list "
            + "(\(policy.limits.baseModels.joined(separator: ", ")))"))
    }
    if let refusal = try JobLauncher.capacityRefusal(database, policy: policy) { return try refused(refusal) }
    if let refusal = try JobLauncher.budgetRefusal(
      database, actor: actor, estimate: plan.estimate, policy: policy, now: now())
    {
      return try refused(refusal)
    }
    let at = Timestamp.format(now())
    try database.execute(
      sql: """
        UPDATE jobs SET state = 'queued', attempt = ?, spec = ?, finished_at = NULL,
          error_code = NULL, error_message = NULL, exit_code = NULL, signal = NULL,
          watcher_pid = NULL, watcher_start_time = NULL, trainer_pid = NULL, trainer_start_time = NULL,
          cancel_requested_at = NULL, cancel_deadline = NULL, cancel_reason = NULL, cancelled_by = NULL,
          queue_reason = NULL, gpu_slots = NULL, native_id = NULL, progress = ?
        WHERE id = ? AND state = ? AND attempt = ?
        """,
      arguments: [
        plan.attempt, try JSONOutput.string(plan.spec, pretty: false),
        // The new attempt starts at its checkpoint's step (no ETA, no phase until it reports).
        try JSONOutput.string(
          JobDocument.Progress(
            step: plan.checkpoint.step, totalSteps: plan.maxSteps, loss: nil, learningRate: nil,
            samplesPerSecond: nil, etaSeconds: nil),
          pretty: false),
        record.id, record.state.rawValue, record.attempt,
      ])
    guard database.changesCount == 1 else {
      return try refused(
        .concurrencyLimited(
          message: "job \(record.id) changed while it was being resumed (another resume?); check "
            + "'vlatune job status \(record.id)'", retryAfter: 1))
    }
    try JobStore.appendEvent(
      database, job: record.id, at: at, from: record.state, to: .queued, actor: actor,
      detail: "resume attempt \(plan.attempt) from step \(plan.checkpoint.step) (max_steps \(plan.maxSteps))")
    try database.execute(
      sql: """
        INSERT INTO job_attempts (job_id, attempt, actor, created_at, from_step, max_steps, checkpoint,
          previous_state, previous_row, estimated_gpu_hours)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
      arguments: [
        record.id, plan.attempt, actor, at, plan.checkpoint.step, plan.maxSteps, plan.checkpoint.path,
        record.state.rawValue, try JSONOutput.string(record, pretty: false), plan.estimate,
      ])
    try Admission.record(
      database, limiters, reference: AdmissionRefund.reference(jobID: record.id, attempt: plan.attempt))
    var entry = AuditEntry(
      tool: Self.tool, actor: actor, argsSha256: argsDigest, policy: policy, reference: record.id, at: now(),
      refusal: nil)
    entry.outcome = AuditLog.pending
    try AuditLog.record(database, entry, home: context.home)
    return .success(at)
  }
}
