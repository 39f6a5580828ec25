import Foundation
import GRDB
import VlatuneDatasets
import VlatuneGuardrails
import VlatuneStore
import VlatuneSupport

/// `job eval` / `evaluate_policy`: a closed-loop evaluation in simulation of a trained job's
/// adapter, run as a job of its own (`kind: eval`) — admitted by the policy under its own tool
/// name (rules, rate limits, audit), counted against the job caps and the GPU-hour budget,
/// detached, cancellable, with its running success rate in `job status` (docs/eval.md).
///
/// The admission is one `BEGIN IMMEDIATE` transaction, as for a start: idempotency key, the
/// policy's rules for `evaluate_policy`, caps and budget; then the same hand-off to the watcher.
/// A policy call is counted as one training step for the budget (an upper bound: it is one
/// forward pass at batch 1).
public struct JobEvaluator: Sendable {
  let context: VlatuneContext
  let policy: Policy
  let watcherExecutable: String
  let now: @Sendable () -> Date
  let makeID: @Sendable (String) -> String
  /// The tool name in policies and the audit log.
  public static let tool = "evaluate_policy"

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

  /// Starts an evaluation job (``EvalParameters/table`` arguments); returns once the watcher
  /// has started it (or it waits for a slot), like `job start`.
  ///
  /// - Throws: ``VlatuneError``: 64 bad arguments, an unknown simulator or task (listing what
  ///   exists), an adapter the simulator cannot feed, an idempotency conflict; 66 unknown job or
  ///   adapter; 69 the trainer environment cannot run the simulator, GPUs; 75 limits; 77 policy.
  public func evaluate(_ arguments: [String: JSONValue], actor: String) throws -> JobDocument {
    let argsDigest = AuditLog.fingerprint(arguments)
    func entry(_ decision: String?, _ error: VlatuneError?, _ reference: String?) -> AuditEntry {
      AuditEntry(
        tool: Self.tool, actor: actor, argsSha256: argsDigest, policy: policy, reference: reference, at: now(),
        refusal: error, decision: decision)
    }
    func refuse(_ error: VlatuneError) -> VlatuneError {
      AuditLog.recordAlone(entry(nil, error, nil), store: context.store, home: context.home)
      return error
    }
    if let refusal = policy.standingRefusal(Self.tool) { throw refuse(refusal) }
    let jobs = JobStore(store: context.store, now: now)
    let values: ParameterValues
    let spec: JobSpec
    do {
      let validated = try EvalParameters.table.validate(arguments)
      values = ParameterValues(validated)
      if let name = values[.name], let problem = PrepareRequest.nameProblem(name) {
        throw VlatuneError.invalidParameters([ParameterProblem(param: "name", message: "name (--name) \(problem)")])
      }
      let target = try EvalTarget.resolve(
        values[.job] ?? "", adapter: values[.adapter], jobs: jobs, home: context.home)
      spec = try makeSpec(target, values: values, validated: validated, id: makeID("job"))
    } catch let error as VlatuneError {
      throw refuse(error)
    }
    let horizon = spec.evaluation?.actionHorizon ?? spec.hyperparameters.actionChunk
    let calls = values[.episodes] * values[.episodeSteps] / max(horizon, 1)
    let estimate = Double(calls) * policy.limits.stepSeconds * Double(spec.gpus) / 3600
    var canonical = spec.parameters?.mapValues(\.value) ?? [:]
    canonical["idempotency_key"] = nil
    canonical["adapter_path"] = .string((spec.evaluation?.adapter ?? "") + "#" + (spec.evaluation?.weights ?? ""))
    let requestDigest = AuditLog.fingerprint(canonical)
    JobDirectories.sweep(context.home.jobsURL.path, store: context.store)
    let lock = try JobDirectories.create(spec)
    let decision: JobLauncher.Decision
    do {
      decision = try context.store.write { database in
        let nowMilliseconds = Timestamp.milliseconds(now())
        let decided = try decide(
          database, actor: actor, arguments: arguments, key: values[.idempotencyKey], requestDigest: requestDigest,
          estimate: estimate, now: nowMilliseconds)
        var audit: AuditEntry
        switch decided {
        case .admit(let limiters):
          let record = try JobRecord(
            queued: spec, actor: actor, idempotencyKey: values[.idempotencyKey], estimatedGpuHours: estimate,
            requestSha256: requestDigest)
          try JobLauncher.register(
            database, record, actor: actor, limiters: limiters, idempotencyKey: values[.idempotencyKey],
            at: nowMilliseconds)
          audit = entry("allowed", nil, record.id)
          audit.outcome = AuditLog.pending
        case .replay(let id):
          audit = entry("replayed", nil, id)
        case .refused(let error):
          audit = entry("refused", error, nil)
        }
        try AuditLog.record(database, audit, home: context.home)
        return decided
      }
    } catch {
      FileIO.removeTree(spec.jobDir)
      throw error
    }
    switch decision {
    case .refused(let error):
      FileIO.removeTree(spec.jobDir)
      throw error
    case .replay(let id):
      FileIO.removeTree(spec.jobDir)
      return try jobs.document(id, replayed: true)
    case .admit:
      let handOff = JobHandOff(context: context, watcherExecutable: watcherExecutable, jobs: jobs)
      return try handOff.run(spec, attempt: 1, lock: lock)
    }
  }

  /// The admission decision, inside the caller's transaction; writes nothing but what the
  /// idempotency lookup expires: the key, the policy's rules for `evaluate_policy`, the job caps
  /// and the GPU-hour budget.
  private func decide(
    _ database: Database, actor: String, arguments: [String: JSONValue], key: String?, requestDigest: String,
    estimate: Double, now milliseconds: Int64
  ) throws -> JobLauncher.Decision {
    if let key,
      let known = try IdempotencyKeys.check(
        database, actor: actor, key: key, requestDigest: requestDigest,
        ttlHours: policy.limits.idempotencyTTLHours, now: milliseconds)
    {
      switch known {
      case .success(let job): return .replay(job)
      case .failure(let error): return .refused(error)
      }
    }
    let limiters: [(SlidingWindowLimiter, Int64)]
    switch try Admission(policy: policy, tool: Self.tool, actor: actor, now: milliseconds)
      .evaluate(database, arguments: arguments)
    {
    case .failure(let error): return .refused(error)
    case .success(let found): limiters = found
    }
    if let refusal = try JobLauncher.capacityRefusal(database, policy: policy) { return .refused(refusal) }
    if let refusal = try JobLauncher.budgetRefusal(
      database, actor: actor, estimate: estimate, policy: policy, now: now())
    {
      return .refused(refusal)
    }
    return .admit(limiters)
  }

  /// The evaluation job's spec: the trained job's model, dataset statistics and
  /// hyperparameters (action chunk, image size, proprio) with the evaluation's own directories,
  /// trainer command and `evaluation` section. Checks the simulator, task, cameras and action
  /// size against the trainer environment's list.
  private func makeSpec(
    _ target: EvalTarget, values: ParameterValues, validated: [String: JSONValue], id: String
  ) throws -> JobSpec {
    let kind = BaseModelKind.of(target.spec.baseModel)
    let python = TrainerCommand.python(environment: context.environment, home: context.home, kind: kind)
    let env = values[.env]
    let task = values[.task] ?? ""
    let simulator = try SimulatorCatalog.load(python: python, environment: context.environment)
      .check(env: env, task: task)
    var problems: [ParameterProblem] = []
    let foreign = target.cameras.filter { !simulator.cameras.contains($0) }
    if !foreign.isEmpty || target.cameras.isEmpty {
      problems.append(
        ParameterProblem(
          param: "job",
          message: "job (--job) the adapter reads cameras \(target.cameras.joined(separator: ", ")), which \(env) "
            + "does not render (its cameras: \(simulator.cameras.joined(separator: ", "))); evaluate an adapter "
            + "trained on demonstrations from \(env) (vlatune sim demos)"))
    }
    if target.actionDim != simulator.actionDim {
      problems.append(
        ParameterProblem(
          param: "job",
          message: "job (--job) the adapter predicts \(target.actionDim) action values but \(env) takes "
            + "\(simulator.actionDim); evaluate an adapter trained on demonstrations from \(env)"))
    }
    if !problems.isEmpty { throw VlatuneError.invalidParameters(problems) }
    guard policy.limits.executors.contains("local") else {
      throw VlatuneError.policyDenied(
        message: "evaluation jobs run on this machine (executor local), which the policy does not allow "
          + "(limits.executors: \(policy.limits.executors.joined(separator: ", ")))")
    }
    let available = GPUInventory.count(environment: context.environment)
    let gpus = values[.gpus] ?? min(available, 1)
    if gpus > available {
      throw VlatuneError.resourceUnavailable(
        message: "gpus \(gpus) requested but this machine offers \(available) GPU(s); use --gpus \(available) "
          + "(0 evaluates on CPU) or set VLATUNE_GPU_COUNT")
    }
    // The demonstrations' frame size, so that the policy sees frames rendered as it was trained.
    let trainedFrames = (try? context.datasets.resolve(target.spec.dataset.id))
      .flatMap { try? DatasetCatalog.document($0) }?.cameras.first { target.cameras.contains($0.key) }
    let imageSize =
      values[.renderSize] ?? trainedFrames.flatMap { $0.width == $0.height ? $0.width : nil } ?? 96
    let jobDir = context.home.jobsURL.appendingPathComponent(id).path
    let listed = try TrainerCommand.passedNames(from: context.environment)
    let rendering = ["MUJOCO_GL", "PYOPENGL_PLATFORM", "MUJOCO_EGL_DEVICE_ID"].filter {
      context.environment[$0] != nil && !listed.contains($0)
    }
    let source = target.spec
    var spec = JobSpec(
      jobId: id, name: values[.name], createdAt: Timestamp.format(now()), baseModel: source.baseModel,
      dataset: source.dataset, hyperparameters: source.hyperparameters, gpus: gpus, executor: "local",
      jobDir: jobDir, outputDir: jobDir + "/output", checkpointsDir: jobDir + "/checkpoints",
      eventsPath: jobDir + "/events.jsonl",
      trainer: JobSpec.Trainer(
        argv: try TrainerCommand.argv(environment: context.environment, home: context.home, kind: kind),
        environment: TrainerCommand.environment(from: context.environment), passedNames: listed + rendering),
      metadata: values[.metadata] ?? [:], maxRunningJobs: policy.limits.maxRunningJobs)
    spec.baseModelKind = source.baseModelKind ?? kind.name
    spec.evaluation = JobSpec.Evaluation(
      adapter: target.adapter, checkpoint: target.checkpoint, env: env, task: task, episodes: values[.episodes],
      maxSteps: values[.episodeSteps], seed: values[.evalSeed], imageSize: imageSize,
      videos: min(values[.videos], values[.episodes]), sourceJob: target.sourceJob, weights: target.weights,
      actionHorizon: values[.actionHorizon])
    var stored = validated
    stored["image_size"] = .number(Double(imageSize))
    stored["idempotency_key"] = nil
    if let sourceJob = target.sourceJob { stored["job"] = .string(sourceJob) }
    stored["gpus"] = .number(Double(gpus))
    spec.parameters = stored.mapValues(AnyJSONValue.init)
    return spec
  }
}
