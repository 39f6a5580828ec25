import Foundation
import VlatuneSupport

/// The job JSON document (CONTRACT §4): printed by `--json`, returned by the MCP tools.
public struct JobDocument: Codable, Sendable, Equatable {
  /// The dataset reference.
  public struct DatasetReference: Codable, Sendable, Equatable {
    /// `ds_…`.
    public var id: String
    /// The package fingerprint the job trains on.
    public var fingerprint: String
  }

  /// The latest progress reported by the trainer.
  public struct Progress: Codable, Sendable, Equatable {
    /// Steps done.
    public var step: Int
    /// Steps in total.
    public var totalSteps: Int
    /// The latest training loss.
    public var loss: Double?
    /// The current learning rate.
    public var learningRate: Double?
    /// Throughput.
    public var samplesPerSecond: Double?
    /// Estimated seconds left.
    public var etaSeconds: Double?
    /// The gradient norm before clipping.
    public var gradNorm: Double?
    /// What the trainer is doing: `training`, `evaluating`, `checkpointing`.
    public var phase: String?

    enum CodingKeys: String, CodingKey {
      case step, loss, phase
      case gradNorm = "grad_norm"
      case totalSteps = "total_steps"
      case learningRate = "learning_rate"
      case samplesPerSecond = "samples_per_second"
      case etaSeconds = "eta_seconds"
    }
  }

  /// Where the results go.
  public struct Output: Codable, Sendable, Equatable {
    /// `jobs/<id>/output`.
    public var dir: String
    /// `output/adapter` (PEFT format).
    public var adapter: String
    /// `output/dataset_statistics.json`.
    public var datasetStatistics: String

    enum CodingKeys: String, CodingKey {
      case dir, adapter
      case datasetStatistics = "dataset_statistics"
    }
  }

  /// A checkpoint the trainer wrote.
  public struct Checkpoint: Codable, Sendable, Equatable {
    /// Optimizer step.
    public var step: Int
    /// Its directory.
    public var path: String
  }

  /// Why a job failed.
  public struct Failure: Codable, Sendable, Equatable {
    /// `nonzero_exit`, `signal`, `oom`, `spawn_failed`, `setup_failed`, `watcher_lost`, …
    public var code: String
    /// What happened (for trainer failures, the last lines of its stderr).
    public var message: String
  }

  /// Process details (for operators and tests).
  public struct Processes: Codable, Sendable, Equatable {
    /// The watcher's pid.
    public var watcherPid: Int?
    /// The trainer's pid (also its process group id).
    public var trainerPid: Int?
    /// GPU slots held.
    public var gpuSlots: [Int]

    enum CodingKeys: String, CodingKey {
      case watcherPid = "watcher_pid"
      case trainerPid = "trainer_pid"
      case gpuSlots = "gpu_slots"
    }
  }

  /// Cancellation details.
  public struct Cancellation: Codable, Sendable, Equatable {
    /// When it was requested.
    public var requestedAt: String
    /// Who asked.
    public var by: String?
    /// Why.
    public var reason: String?

    enum CodingKeys: String, CodingKey {
      case by, reason
      case requestedAt = "requested_at"
    }
  }

  /// One resume of the job (`job resume`): attempt 2 onwards.
  public struct Attempt: Codable, Sendable, Equatable {
    /// The attempt number.
    public var attempt: Int
    /// When it was admitted.
    public var createdAt: String
    /// Who resumed it.
    public var actor: String
    /// The checkpoint step it continues from.
    public var fromStep: Int
    /// Its total of optimizer steps.
    public var maxSteps: Int
    /// The checkpoint directory.
    public var checkpoint: String
    /// The state the job had ended in.
    public var previousState: String

    enum CodingKeys: String, CodingKey {
      case attempt, actor, checkpoint
      case createdAt = "created_at"
      case fromStep = "from_step"
      case maxSteps = "max_steps"
      case previousState = "previous_state"
    }
  }

  /// The best evaluation so far and its step.
  public struct BestEval: Codable, Sendable, Equatable {
    /// The step it was measured at.
    public var step: Int
    /// Its metrics.
    public var metrics: [String: Double]
  }

  /// Always 1.
  public var schemaVersion = 1
  /// `job_…`.
  public var id: String
  /// Optional human name.
  public var name: String?
  /// The lifecycle state.
  public var state: JobState
  /// RFC 3339 time the job was admitted.
  public var createdAt: String
  /// When the trainer started.
  public var startedAt: String?
  /// When the job reached its terminal state.
  public var finishedAt: String?
  /// The base model.
  public var baseModel: String
  /// The dataset and the package fingerprint trained on.
  public var dataset: DatasetReference
  /// Resolved hyperparameters.
  public var hyperparameters: Hyperparameters
  /// GPUs requested (0: CPU).
  public var gpus: Int
  /// `local` or `slurm`.
  public var executor: String
  /// The executor's own id for the job (the Slurm job id; `nil` for local jobs).
  public var nativeId: String?
  /// Who started it.
  public var actor: String
  /// The free-form labels it was started with (`--metadata k=v`).
  public var metadata: [String: String]
  /// The latest progress.
  public var progress: Progress?
  /// The latest evaluation metrics.
  public var eval: [String: Double]?
  /// The evaluation with the lowest `val_l1` and its step.
  public var bestEval: BestEval?
  /// The attempt the job is on (1 until it is resumed).
  public var attempt: Int
  /// Its resumes, oldest first.
  public var attempts: [Attempt]
  /// Recent training losses (for sparklines).
  public var lossHistory: [Double]
  /// Where the adapter and statistics go.
  public var output: Output
  /// Checkpoints the trainer reported.
  public var checkpoints: [Checkpoint]
  /// Why it failed or was lost.
  public var error: Failure?
  /// The trainer's exit status.
  public var exitCode: Int?
  /// The signal that killed the trainer.
  public var signal: Int?
  /// Why a queued job waits.
  public var queueReason: String?
  /// Who cancelled it, when, why.
  public var cancellation: Cancellation?
  /// Watcher and trainer pids, GPU slots.
  public var processes: Processes
  /// Events lines skipped as malformed.
  public var malformedEvents: Int
  /// The job directory.
  public var jobDir: String
  /// The idempotency key it was started with.
  public var idempotencyKey: String?
  /// `true` when an idempotent start returned an existing job.
  public var replayed: Bool
  /// `train`, or `eval` for an evaluation job (`job eval`).
  public var kind: String
  /// An evaluation job's result so far; for a trained job, its latest succeeded evaluation.
  public var evaluation: EvaluationSummary?

  enum CodingKeys: String, CodingKey {
    case id, name, state, dataset, hyperparameters, gpus, executor, actor, metadata, progress, eval, output
    case nativeId = "native_id"
    case checkpoints, error, signal, cancellation, processes, replayed, attempt, attempts, kind, evaluation
    case bestEval = "best_eval"
    case schemaVersion = "schema_version"
    case createdAt = "created_at"
    case startedAt = "started_at"
    case finishedAt = "finished_at"
    case baseModel = "base_model"
    case lossHistory = "loss_history"
    case exitCode = "exit_code"
    case queueReason = "queue_reason"
    case malformedEvents = "malformed_events"
    case jobDir = "job_dir"
    case idempotencyKey = "idempotency_key"
  }

  /// Encodes every contract field, `null` when absent (scripts can rely on the keys existing).
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(schemaVersion, forKey: .schemaVersion)
    try container.encode(id, forKey: .id)
    try container.encode(kind, forKey: .kind)
    try container.encode(name, forKey: .name)
    try container.encode(state, forKey: .state)
    try container.encode(createdAt, forKey: .createdAt)
    try container.encode(startedAt, forKey: .startedAt)
    try container.encode(finishedAt, forKey: .finishedAt)
    try container.encode(baseModel, forKey: .baseModel)
    try container.encode(dataset, forKey: .dataset)
    try container.encode(hyperparameters, forKey: .hyperparameters)
    try container.encode(gpus, forKey: .gpus)
    try container.encode(executor, forKey: .executor)
    try container.encode(nativeId, forKey: .nativeId)
    try container.encode(actor, forKey: .actor)
    try container.encode(metadata, forKey: .metadata)
    try container.encode(progress, forKey: .progress)
    try container.encode(eval, forKey: .eval)
    try container.encode(bestEval, forKey: .bestEval)
    try container.encode(attempt, forKey: .attempt)
    try container.encode(attempts, forKey: .attempts)
    try container.encode(lossHistory, forKey: .lossHistory)
    try container.encode(output, forKey: .output)
    try container.encode(checkpoints, forKey: .checkpoints)
    try container.encode(error, forKey: .error)
    try container.encode(exitCode, forKey: .exitCode)
    try container.encode(signal, forKey: .signal)
    try container.encode(queueReason, forKey: .queueReason)
    try container.encode(cancellation, forKey: .cancellation)
    try container.encode(processes, forKey: .processes)
    try container.encode(malformedEvents, forKey: .malformedEvents)
    try container.encode(jobDir, forKey: .jobDir)
    try container.encode(idempotencyKey, forKey: .idempotencyKey)
    try container.encode(replayed, forKey: .replayed)
    try container.encode(evaluation, forKey: .evaluation)
  }

  init(
    record: JobRecord, checkpoints: [JobDocument.Checkpoint], attempts: [Attempt] = [],
    bestEval: BestEval? = nil, replayed: Bool = false, latestEvaluation: EvaluationSummary? = nil
  ) throws {
    let spec = try JSONOutput.decode(JobSpec.self, from: Data(record.spec.utf8))
    kind = record.kind
    evaluation = EvaluationSummary(record: record, spec: spec) ?? latestEvaluation
    id = record.id
    name = record.name
    state = record.state
    createdAt = record.createdAt
    startedAt = record.startedAt
    finishedAt = record.finishedAt
    baseModel = record.baseModel
    dataset = DatasetReference(id: record.datasetId, fingerprint: record.datasetFingerprint)
    hyperparameters = spec.hyperparameters
    gpus = spec.gpus
    executor = record.executor
    nativeId = record.nativeId
    actor = record.actor
    metadata = spec.metadata
    progress = record.progress.flatMap { try? JSONOutput.decode(Progress.self, from: Data($0.utf8)) }
    eval = record.eval.flatMap { try? JSONOutput.decode([String: Double].self, from: Data($0.utf8)) }
    lossHistory =
      record.lossHistory.flatMap { try? JSONOutput.decode([Double].self, from: Data($0.utf8)) } ?? []
    output = Output(
      dir: spec.outputDir, adapter: spec.outputDir + "/adapter",
      datasetStatistics: spec.outputDir + "/dataset_statistics.json")
    self.checkpoints = checkpoints
    error = record.errorCode.map { Failure(code: $0, message: record.errorMessage ?? "") }
    exitCode = record.exitCode
    signal = record.signal
    queueReason = record.queueReason
    cancellation = record.cancelRequestedAt.map {
      Cancellation(requestedAt: $0, by: record.cancelledBy, reason: record.cancelReason)
    }
    processes = Processes(
      watcherPid: record.watcherPid, trainerPid: record.trainerPid,
      gpuSlots: (record.gpuSlots ?? "").split(separator: ",").compactMap { Int($0) })
    malformedEvents = record.malformedEvents
    jobDir = record.jobDir
    idempotencyKey = record.idempotencyKey
    self.replayed = replayed
    attempt = record.attempt
    self.attempts = attempts
    self.bestEval = bestEval
  }
}
