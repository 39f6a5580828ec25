import Foundation
import GRDB
import Glibc
import VlatuneDatasets
import VlatuneGuardrails
import VlatuneStore
import VlatuneSupport

/// `job start`'s spec resolution: a validated request becomes the complete spec a trainer runs
/// (CONTRACT §7) — the dataset resolved to its package and checked, the base model's kind
/// recognised (a LeRobot checkpoint's cameras, dimensions and LoRA targets checked against the
/// package), the executor, GPUs, seed, trainer command, Slurm settings, memory estimate and the
/// `init_from` checkpoint decided. It starts nothing and writes nothing.
struct JobSpecResolver: Sendable {
  let context: VlatuneContext
  let policy: Policy
  let now: @Sendable () -> Date

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
    if isLeRobot, let checkpoint = LeRobotCheckpoint.read(request.baseModel, environment: context.environment) {
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

  static func removedDuringStart(_ id: String) -> VlatuneError {
    .notFound(kind: "dataset", reference: id, hint: "it was removed while the job was being started; prepare it again")
  }

  /// `init_from` (`JOB` or `JOB:STEP`): the checkpoint whose adapter weights the new job starts
  /// from — that step's, else the job's newest — refused (64) when the base model, LoRA rank or
  /// target modules differ, or when the job has no such checkpoint.
  func initCheckpoint(_ reference: String, for spec: JobSpec) throws -> String {
    var jobReference = reference
    var step: Int?
    if let colon = reference.lastIndex(of: ":"), let number = Int(reference[reference.index(after: colon)...]) {
      jobReference = String(reference[..<colon])
      step = number
    }
    func problem(_ message: String) -> VlatuneError {
      .invalidParameters([ParameterProblem(param: "init_from", message: "init_from (--init-from) \(message)")])
    }
    let source = try JobLauncher.sourceJob(jobReference, parameter: "init_from", store: context.store)
    let sourceSpec = try JSONOutput.decode(JobSpec.self, from: Data(source.spec.utf8))
    var mismatches: [String] = []
    if sourceSpec.baseModel != spec.baseModel {
      mismatches.append("base_model '\(sourceSpec.baseModel)' (this job: '\(spec.baseModel)')")
    }
    if sourceSpec.hyperparameters.loraRank != spec.hyperparameters.loraRank {
      mismatches.append(
        "lora_rank \(sourceSpec.hyperparameters.loraRank) (this job: \(spec.hyperparameters.loraRank))")
    }
    if sourceSpec.hyperparameters.targetModules != spec.hyperparameters.targetModules {
      mismatches.append(
        "target_modules \(sourceSpec.hyperparameters.targetModules.joined(separator: ",")) (this job: "
          + "\(spec.hyperparameters.targetModules.joined(separator: ",")))")
    }
    if !mismatches.isEmpty {
      throw problem(
        "\(source.id)'s adapter does not fit this job: it has \(mismatches.joined(separator: ", ")); "
          + "start with the same values, or use --from \(source.id) to take all of them")
    }
    let checkpoints = try JobStore(store: context.store).checkpoints(source.id).filter {
      FileIO.kind($0.path + "/adapter.safetensors") == .regular
    }
    if let step {
      guard let match = checkpoints.first(where: { $0.step == step }) else {
        throw problem(
          "\(source.id) has no checkpoint at step \(step)"
            + (checkpoints.isEmpty ? "" : "; it has steps \(checkpoints.map { "\($0.step)" }.joined(separator: ", "))"))
      }
      return match.path
    }
    guard let last = checkpoints.last else {
      throw problem("\(source.id) has no checkpoint to start from (it is \(source.state.rawValue))")
    }
    return last.path
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
  /// state or action sizes the policy cannot take, a base, backbone or tokenizer not on disk,
  /// LoRA targets that name no module.
  static func checkLeRobot(
    _ checkpoint: LeRobotCheckpoint, request: JobRequest, document: DatasetDocument, imageMap: [String: String],
    environment: [String: String]
  ) throws {
    var problems: [ParameterProblem] = []
    if let problem = checkpoint.grootBaseProblem(environment: environment) { problems.append(problem) }
    if let problem = checkpoint.gradientCheckpointingProblem(requested: request[.gradientCheckpointing]) {
      problems.append(problem)
    }
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
