import Foundation
import GRDB
import Glibc
import VlatuneDatasets
import VlatuneGuardrails
import VlatuneStore
import VlatuneSupport

/// What `job start` did.
public enum StartOutcome: Sendable {
  /// A new job was admitted and its watcher started.
  case started(JobDocument)
  /// The idempotency key matched an earlier identical request: its job, `replayed: true`.
  case replayed(JobDocument)
  /// `--dry-run`: what would happen, nothing consumed.
  case dryRun(DryRunReport)

  /// The job document (or `nil` for a dry run).
  public var document: JobDocument? {
    switch self {
    case .started(let document), .replayed(let document): document
    case .dryRun: nil
    }
  }
}

/// The result of `job start --dry-run`.
public struct DryRunReport: Codable, Sendable {
  /// Always 1.
  public var schemaVersion = 1
  /// Whether a real start would be admitted now.
  public var wouldStart: Bool
  /// The refusal a real start would get.
  public var refusal: Refusal?
  /// The validated parameters with defaults.
  public var parameters: [String: AnyJSONValue]
  /// The resolved spec.
  public var spec: JobSpec
  /// GPU-hours counted against the actor's budget.
  public var estimatedGpuHours: Double
  /// The policy in force.
  public var policy: String

  /// Why a start would be refused.
  public struct Refusal: Codable, Sendable {
    /// Error code.
    public var code: String
    /// Message.
    public var message: String
    /// Seconds until a retry could succeed.
    public var retryAfterSeconds: Double?

    enum CodingKeys: String, CodingKey {
      case code, message
      case retryAfterSeconds = "retry_after_seconds"
    }
  }

  enum CodingKeys: String, CodingKey {
    case refusal, parameters, spec, policy
    case schemaVersion = "schema_version"
    case wouldStart = "would_start"
    case estimatedGpuHours = "estimated_gpu_hours"
  }
}

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
      spec = try resolve(request, id: dryRun ? "job_dry_run" : makeID("job"))
      if !dryRun { try Self.checkMemory(spec, force: request[.force]) }
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
        try Self.checkMemory(spec, force: request[.force])
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
          try record.insert(database)
          try database.execute(
            sql: "INSERT INTO job_events (job_id, at, from_state, to_state, actor) VALUES (?, ?, NULL, 'queued', ?)",
            arguments: [record.id, record.createdAt, actor])
          try Admission.record(database, limiters, reference: record.id)
          if let key = request.idempotencyKey {
            try database.execute(
              sql:
                "INSERT INTO idempotency_keys (actor, key, request_sha256, job_id, created_at_ms) VALUES (?, ?, ?, ?, ?)",
              arguments: [actor, key, requestDigest, record.id, Timestamp.milliseconds(now())])
          }
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
    let present =
      try Bool.fetchOne(
        database, sql: "SELECT 1 FROM datasets WHERE id = ? AND fingerprint = ?",
        arguments: [spec.dataset.id, spec.dataset.fingerprint]) ?? false
    guard present else { return .refused(Self.removedDuringStart(spec.dataset.id)) }
    if let key = request.idempotencyKey {
      let ttl = Int64(policy.limits.idempotencyTTLHours * 3_600_000)
      try database.execute(
        sql: "DELETE FROM idempotency_keys WHERE created_at_ms <= ?", arguments: [nowMilliseconds - ttl])
      if let row = try Row.fetchOne(
        database, sql: "SELECT request_sha256, job_id FROM idempotency_keys WHERE actor = ? AND key = ?",
        arguments: [request.actor, key])
      {
        let digest: String = row["request_sha256"]
        let job: String = row["job_id"]
        if digest == requestDigest { return .replay(job) }
        return .refused(
          .idempotencyConflict(
            message: "idempotency_key '\(key)' was used for a different request (job \(job)); "
              + "use a new key for a new request, or repeat the original request exactly"))
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

  static func removedDuringStart(_ id: String) -> VlatuneError {
    .notFound(kind: "dataset", reference: id, hint: "it was removed while the job was being started; prepare it again")
  }

  /// Validates and resolves a request into a spec without starting anything.
  func resolve(_ request: JobRequest, id: String) throws -> JobSpec {
    let record = try context.datasets.resolve(request.dataset)
    let document: DatasetDocument
    do {
      document = try Self.checkPackage(record)
    } catch let error as VlatuneError {
      // `dataset rm` between the lookup and the check removes the files first: say that.
      if (try? context.datasets.resolve(record.id)) == nil { throw Self.removedDuringStart(record.id) }
      throw error
    }
    try Self.checkBaseModel(request.baseModel)
    let kind = BaseModelKind.of(request.baseModel)
    let imageMap = request[.imageMap]
    let isLeRobot: Bool = if case .lerobot = kind { true } else { false }
    let lerobotOnly =
      isLeRobot
      ? []
      : [OptionalParameter<[String: String]>.imageMap.name, OptionalParameter<String>.tokenizer.name].filter {
        request.parameters[$0] != nil
      }
    if !lerobotOnly.isEmpty {
      throw VlatuneError.invalidParameters(
        lerobotOnly.map { name in
          ParameterProblem(
            param: name,
            message: "\(name) (--\(name.replacingOccurrences(of: "_", with: "-"))) applies to LeRobot policy "
              + "checkpoints only; base_model '\(request.baseModel)' is \(kind.name): remove it")
        })
    }
    if isLeRobot, let checkpoint = LeRobotCheckpoint.read(request.baseModel) {
      try Self.checkLeRobot(
        checkpoint, request: request, document: document, imageMap: imageMap ?? [:],
        environment: context.environment)
    }
    let executor = request[.executor] ?? policy.limits.defaultExecutor
    guard policy.limits.executors.contains(executor) else {
      throw VlatuneError.policyDenied(
        message: "executor '\(executor)' is not allowed by the policy (limits.executors: "
          + "\(policy.limits.executors.joined(separator: ", ")))")
    }
    let slurm = executor == "slurm"
    let available = GPUInventory.count(environment: context.environment)
    let gpus = request.gpus ?? (slurm ? 0 : min(available, 1))
    let nodes = request[.nodes]
    if nodes > 1 && !slurm {
      throw VlatuneError.invalidParameters([
        ParameterProblem(
          param: "nodes",
          message: "nodes (--nodes) \(nodes) needs executor slurm; this machine is one node")
      ])
    }
    if !slurm && gpus > available {
      throw VlatuneError.resourceUnavailable(
        message: "gpus \(gpus) requested but this machine offers \(available) GPU(s); use "
          + "--gpus \(available) (0 trains on CPU) or set VLATUNE_GPU_COUNT")
    }
    let jobDir = context.home.jobsURL.appendingPathComponent(id).path
    var seed = request.seed
    if seed == nil {
      var generator = SystemRandomNumberGenerator()
      seed = generator.next() >> 33
    }
    let hyperparameters = Hyperparameters(
      loraRank: request[.loraRank], loraAlpha: request[.loraAlpha], loraDropout: request[.loraDropout],
      learningRate: request[.learningRate], batchSize: request[.batchSize], gradAccum: request[.gradAccum],
      effectiveBatchSize: request[.batchSize] * request[.gradAccum] * max(gpus, 1), maxSteps: request[.maxSteps],
      seed: seed ?? 0, actionChunk: request[.actionChunk], imageSize: request[.imageSize],
      proprio: request[.proprio], precision: request[.precision], checkpointInterval: request[.checkpointInterval],
      targetModules: request[.targetModules], lrSchedule: request[.lrSchedule], dataWorkers: request[.dataWorkers],
      gradientCheckpointing: request[.gradientCheckpointing], trustRemoteCode: request[.trustRemoteCode],
      imageMap: imageMap, tokenizer: request[.tokenizer].map { ($0 as NSString).expandingTildeInPath })
    let dataset = JobSpec.Dataset(
      id: record.id, name: record.name, path: record.directory, fingerprint: record.fingerprint,
      statistics: record.directory + "/dataset_statistics.json")
    let processes = request[.processes] ?? max(gpus, 1)
    let tracker = request[.tracker]
    if tracker == "mlflow" && (context.environment["MLFLOW_TRACKING_URI"] ?? "").isEmpty {
      throw VlatuneError.invalidParameters([
        ParameterProblem(
          param: "tracker",
          message: "tracker (--tracker) mlflow needs MLFLOW_TRACKING_URI set to the tracking server "
            + "(e.g. http://127.0.0.1:5000)")
      ])
    }
    let trackerNames = (TrainerCommand.trackerVariables[tracker] ?? []).filter { context.environment[$0] != nil }
    let listed = try TrainerCommand.passedNames(from: context.environment)
    let trainer = JobSpec.Trainer(
      argv: DistributedLaunch.argv(
        try TrainerCommand.argv(environment: context.environment, home: context.home, kind: kind),
        nodes: nodes, processes: processes, jobID: id),
      environment: TrainerCommand.environment(from: context.environment),
      passedNames: listed + trackerNames.filter { !listed.contains($0) })
    var spec = JobSpec(
      jobId: id, name: request.name, createdAt: Timestamp.format(now()),
      baseModel: request.baseModel, dataset: dataset, hyperparameters: hyperparameters, gpus: gpus,
      executor: executor, jobDir: jobDir, outputDir: jobDir + "/output",
      checkpointsDir: jobDir + "/checkpoints", eventsPath: jobDir + "/events.jsonl",
      trainer: trainer, metadata: request.metadata, maxRunningJobs: policy.limits.maxRunningJobs)
    spec.baseModelKind = kind.name
    if nodes * processes > 1 {
      spec.distributed = JobSpec.Distributed(nodes: nodes, processesPerNode: processes)
    }
    if slurm {
      var settings = try SlurmSettings.defaults(environment: context.environment, home: context.home)
      settings.partition = request[.slurmPartition] ?? settings.partition
      settings.account = request[.slurmAccount] ?? settings.account
      settings.qos = request[.slurmQos] ?? settings.qos
      settings.timeLimitMinutes = request[.timeLimit] ?? settings.timeLimitMinutes
      settings.memory = request[.slurmMemory] ?? settings.memory
      spec.slurm = settings
    }
    let gpuMemory =
      gpus > 0 && !slurm ? GPUInventory.memoryBytes(environment: context.environment) : nil
    spec.memoryEstimate = MemoryEstimate.estimate(spec: spec, gpuMemoryBytes: gpuMemory)
    if let reference = request[.initFrom] { spec.initAdapter = try initCheckpoint(reference, for: spec) }
    if tracker != "none" { spec.tracker = tracker }
    var stored = request.parameters
    for name in ["idempotency_key", "from"] { stored[name] = nil }
    stored["dataset"] = .string(record.id)
    stored["seed"] = .number(Double(seed ?? 0))
    stored["gpus"] = .number(Double(gpus))
    stored["executor"] = .string(executor)
    spec.parameters = stored.mapValues(AnyJSONValue.init)
    return spec
  }

  /// Refuses (69) a GPU job whose memory estimate exceeds the GPU's memory, unless `force`.
  static func checkMemory(_ spec: JobSpec, force: Bool) throws {
    guard !force, let estimate = spec.memoryEstimate, let available = estimate.gpuMemoryBytes,
      !estimate.fits
    else { return }
    throw VlatuneError.resourceUnavailable(
      message: "the job is estimated to need \(ByteSize.format(Int64(estimate.totalBytes))) of GPU memory "
        + "(weights \(ByteSize.format(Int64(estimate.weightBytes))), activations "
        + "\(ByteSize.format(Int64(estimate.activationBytes)))) but the GPU has \(ByteSize.format(Int64(available))); "
        + "lower batch_size, enable gradient_checkpointing, or pass force to start anyway")
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
    JobRecord(
      id: spec.jobId, name: spec.name, state: .queued, createdAt: spec.createdAt, startedAt: nil,
      finishedAt: nil, baseModel: spec.baseModel, datasetId: spec.dataset.id,
      datasetFingerprint: spec.dataset.fingerprint, executor: spec.executor, actor: request.actor,
      jobDir: spec.jobDir, spec: try JSONOutput.string(spec, pretty: false), progress: nil,
      lossHistory: nil, eval: nil, errorCode: nil, errorMessage: nil, exitCode: nil, signal: nil,
      watcherPid: nil, watcherStartTime: nil, trainerPid: nil, trainerStartTime: nil,
      queueReason: nil, cancelRequestedAt: nil, cancelDeadline: nil, cancelReason: nil,
      cancelledBy: nil, idempotencyKey: request.idempotencyKey, malformedEvents: 0, eventsOffset: 0,
      gpuSlots: nil, estimatedGpuHours: estimate, requestSha256: requestDigest,
      metadata: try JSONOutput.string(spec.metadata, pretty: false))
  }

  static func checkBaseModel(_ model: String) throws {
    if JobParameters.builtinModels.contains(model) { return }
    let config = URL(fileURLWithPath: model).appendingPathComponent("config.json").path
    guard FileIO.kind(config) == .regular else {
      throw VlatuneError.invalidParameters([
        ParameterProblem(
          param: "base_model",
          message: "base_model (--base-model) must be a built-in model "
            + "(\(JobParameters.builtinModels.joined(separator: ", "))) or a local checkpoint "
            + "directory containing config.json, got '\(model)'")
      ])
    }
  }

  /// A fast integrity check of a package before a job is admitted: every shard present with the
  /// size the manifest records. (The trainer verifies checksums before use.)
  @discardableResult
  static func checkPackage(_ record: DatasetRecord) throws -> DatasetDocument {
    let document = try DatasetCatalog.document(record)
    var findings: [Diagnostic] = []
    for shard in document.shards {
      let path = record.directory + "/" + shard.path
      let size = FileIO.kind(path) == .regular ? FileIO.size(path) : -1
      if size != shard.bytes {
        findings.append(
          Diagnostic(
            .error, code: "shard_mismatch",
            message: size < 0 ? "missing" : "\(size) bytes, manifest says \(shard.bytes)",
            field: shard.path))
      }
    }
    if !findings.isEmpty {
      throw VlatuneError.invalidDataset(
        message: "dataset \(record.id) (\(record.name)) is damaged; run 'vlatune dataset verify "
          + "\(record.name)' and prepare it again", findings: findings)
    }
    return document
  }

  /// Refuses (64) a LeRobot checkpoint the dataset cannot feed: image slots without a camera,
  /// state or action sizes the policy cannot take, LoRA targets that name no module.
  static func checkLeRobot(
    _ checkpoint: LeRobotCheckpoint, request: JobRequest, document: DatasetDocument, imageMap: [String: String],
    environment: [String: String]
  ) throws {
    guard LeRobotCheckpoint.trained.contains(checkpoint.type) else {
      throw VlatuneError.invalidParameters([
        ParameterProblem(
          param: "base_model",
          message: "base_model (--base-model) is a LeRobot \(checkpoint.type) checkpoint, a family vlatune "
            + "recognises but does not fine-tune yet (it trains \(LeRobotCheckpoint.trained.joined(separator: ", ")); "
            + "docs/trainer.md)")
      ])
    }
    var problems: [ParameterProblem] = []
    if let problem = checkpoint.cameraProblem(available: document.cameras.map(\.key), imageMap: imageMap) {
      problems.append(problem)
    }
    let proprio = request[.proprio]
    let stateDim =
      switch proprio {
      case "all": document.stateDim
      case "none": 0
      default: proprio.split(separator: ",").count
      }
    problems += checkpoint.dimensionProblems(stateDim: stateDim, actionDim: document.actionDim)
    if let problem = checkpoint.backboneProblem(tokenizer: request[.tokenizer], environment: environment) {
      problems.append(problem)
    }
    let targets = request[.targetModules]
    let unmatched = checkpoint.unmatchedTargets(targets)
    if !unmatched.isEmpty {
      problems.append(
        ParameterProblem(
          param: "target_modules",
          message: "target_modules (--target-modules) \(unmatched.joined(separator: ", ")) match no module of the "
            + "\(checkpoint.type) policy (a module matches when its path is the name or ends with '.name', "
            + "e.g. \(checkpoint.modules.sorted().prefix(3).joined(separator: ", "))); omit it for the "
            + "family's default targets (docs/trainer.md)"))
    }
    if !problems.isEmpty { throw VlatuneError.invalidParameters(problems) }
  }
}
