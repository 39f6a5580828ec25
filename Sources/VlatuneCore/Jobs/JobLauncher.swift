import Foundation
import GRDB
import Glibc

/// `job start`: resolves a request into a complete spec, registers the job, and starts its
/// detached watcher; returns once the watcher has started the trainer, is waiting for GPU
/// slots, or has failed.
public struct JobLauncher: Sendable {
  let context: VlatuneContext
  let watcherExecutable: String
  let now: @Sendable () -> Date
  let makeID: @Sendable (String) -> String
  /// How long `start` waits for the watcher's first report.
  static let handshakeTimeout = 30.0

  /// - Parameters:
  ///   - context: State directory, database, environment.
  ///   - watcherExecutable: The `vlatune` binary that runs `job __watch`.
  public init(
    context: VlatuneContext, watcherExecutable: String,
    now: @escaping @Sendable () -> Date = Date.init,
    makeID: @escaping @Sendable (String) -> String = Identifiers.random(prefix:)
  ) {
    self.context = context
    self.watcherExecutable = watcherExecutable
    self.now = now
    self.makeID = makeID
  }

  /// Validates and resolves a request without starting anything.
  public func resolve(_ request: JobRequest, id: String = "job_dry_run") throws -> JobSpec {
    try request.validate()
    let record = try context.datasets.resolve(request.dataset)
    try Self.checkPackage(record)
    try Self.checkBaseModel(request.baseModel)
    let available = GPUInventory.count(environment: context.environment)
    let gpus = request.gpus ?? min(available, 1)
    if gpus > available {
      throw VlatuneError.resourceUnavailable(
        message: "--gpus \(gpus) requested but this machine offers \(available) GPU(s); use "
          + "--gpus \(available) (0 trains on CPU) or set VLATUNE_GPU_COUNT")
    }
    let jobDir = context.home.jobsURL.appendingPathComponent(id).path
    var seed = request.seed
    if seed == nil {
      var generator = SystemRandomNumberGenerator()
      seed = generator.next() >> 33
    }
    return JobSpec(
      jobId: id, name: request.name, createdAt: Timestamp.format(now()),
      baseModel: request.baseModel,
      dataset: .init(
        id: record.id, name: record.name, path: record.directory, fingerprint: record.fingerprint,
        statistics: record.directory + "/dataset_statistics.json"),
      hyperparameters: Hyperparameters(
        loraRank: request.loraRank, loraAlpha: request.loraAlpha, loraDropout: request.loraDropout,
        learningRate: request.learningRate, batchSize: request.batchSize,
        gradAccum: request.gradAccum,
        effectiveBatchSize: request.batchSize * request.gradAccum * max(gpus, 1),
        maxSteps: request.maxSteps, seed: seed ?? 0),
      gpus: gpus, executor: request.executor, jobDir: jobDir, outputDir: jobDir + "/output",
      checkpointsDir: jobDir + "/checkpoints", eventsPath: jobDir + "/events.jsonl",
      trainer: .init(
        argv: try TrainerCommand.argv(environment: context.environment, home: context.home),
        environment: TrainerCommand.environment(from: context.environment)))
  }

  /// Starts a job.
  ///
  /// - Returns: The job document after the watcher's first report.
  /// - Throws: ``VlatuneError`` — 64 invalid argument, 65 broken dataset package, 66 unknown
  ///   dataset, 69 GPUs or trainer unavailable (the job is then recorded as `failed` with
  ///   `spawn_failed`).
  public func start(_ request: JobRequest) throws -> JobDocument {
    let id = makeID("job")
    let spec = try resolve(request, id: id)
    let jobs = JobStore(store: context.store, now: now)
    do {
      for directory in [spec.jobDir, spec.outputDir, spec.checkpointsDir] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
      }
    } catch {
      throw VlatuneError.ioFailure(path: spec.jobDir, message: "\(error)")
    }
    try FileIO.write(try JSONOutput.string(spec) + "\n", to: spec.jobDir + "/spec.json")
    guard let lock = try FileLock.tryLock(spec.jobDir + "/watcher.lock") else {
      throw VlatuneError.internalError(message: "the lock of new job \(id) is already held")
    }
    let record = JobRecord(
      id: id, name: request.name, state: .queued, createdAt: spec.createdAt, startedAt: nil,
      finishedAt: nil, baseModel: spec.baseModel, datasetId: spec.dataset.id,
      datasetFingerprint: spec.dataset.fingerprint, executor: spec.executor, actor: request.actor,
      jobDir: spec.jobDir, spec: try JSONOutput.string(spec, pretty: false), progress: nil,
      lossHistory: nil, eval: nil, errorCode: nil, errorMessage: nil, exitCode: nil, signal: nil,
      watcherPid: nil, watcherStartTime: nil, trainerPid: nil, trainerStartTime: nil,
      queueReason: nil, cancelRequestedAt: nil, cancelDeadline: nil, cancelReason: nil,
      cancelledBy: nil, idempotencyKey: nil, malformedEvents: 0, eventsOffset: 0, gpuSlots: nil)
    try jobs.insert(record, actor: request.actor)
    try spawnWatcher(id: id, jobDir: spec.jobDir, lock: lock, jobs: jobs)
    return try awaitHandshake(id, jobs: jobs)
  }

  private func spawnWatcher(id: String, jobDir: String, lock: FileLock, jobs: JobStore) throws {
    let log = open(jobDir + "/watcher.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    defer { if log >= 0 { close(log) } }
    var options = ProcessSpawner.Options()
    options.standardOutput = log >= 0 ? log : nil
    options.standardError = log >= 0 ? log : nil
    options.inheritedDescriptor = lock.descriptor
    options.newSession = true
    do {
      _ = try ProcessSpawner.spawn(
        [watcherExecutable, "job", "__watch", id], environment: context.environment,
        options: options)
    } catch let error as VlatuneError {
      try jobs.transition(
        id, from: [.queued], to: .failed, actor: "launcher",
        set: [("error_code", "spawn_failed"), ("error_message", "cannot start the watcher: \(error.message)")])
      throw VlatuneError.resourceUnavailable(message: "job \(id) failed: cannot start the watcher: \(error.message)")
    }
  }

  private func awaitHandshake(_ id: String, jobs: JobStore) throws -> JobDocument {
    let deadline = Date().addingTimeInterval(Self.handshakeTimeout)
    while Date() < deadline {
      guard let record = try jobs.record(id) else { break }
      if record.state == .failed && record.errorCode == "spawn_failed" {
        throw VlatuneError.resourceUnavailable(
          message: "job \(id) failed to start the trainer: \(record.errorMessage ?? "")")
      }
      if record.state != .queued && record.state != .starting { break }
      if record.state == .queued && record.queueReason != nil { break }
      usleep(2_000)
    }
    return try jobs.document(id)
  }

  static func checkBaseModel(_ model: String) throws {
    if JobRequest.builtinModels.contains(model) { return }
    let config = URL(fileURLWithPath: model).appendingPathComponent("config.json").path
    guard FileIO.kind(config) == .regular else {
      throw VlatuneError.invalidArgument(
        param: "--base-model",
        message: "must be a built-in model (\(JobRequest.builtinModels.joined(separator: ", "))) "
          + "or a local checkpoint directory containing config.json, got '\(model)'")
    }
  }

  /// A fast integrity check of a package before a job is admitted: manifest present, every shard
  /// present with the size the manifest records. (The trainer verifies checksums before use.)
  static func checkPackage(_ record: DatasetRecord) throws {
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
  }
}
