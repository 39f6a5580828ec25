import GRDB
import VlatuneSupport

/// One row of the `jobs` table.
struct JobRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
  /// The table name.
  static let databaseTableName = "jobs"

  var id: String
  var name: String?
  var state: JobState
  var createdAt: String
  var startedAt: String?
  var finishedAt: String?
  var baseModel: String
  var datasetId: String
  var datasetFingerprint: String
  var executor: String
  var actor: String
  var jobDir: String
  /// The resolved spec (`spec.json`) as JSON text.
  var spec: String
  /// The latest progress as JSON text.
  var progress: String?
  /// Recent losses as a JSON array (for the sparkline).
  var lossHistory: String?
  /// The latest eval metrics as JSON text.
  var eval: String?
  var errorCode: String?
  var errorMessage: String?
  var exitCode: Int?
  var signal: Int?
  var watcherPid: Int?
  var watcherStartTime: Int64?
  var trainerPid: Int?
  var trainerStartTime: Int64?
  /// Why a queued job waits (`gpu_slots`).
  var queueReason: String?
  var cancelRequestedAt: String?
  /// Seconds since 1970 after which the watcher sends SIGKILL.
  var cancelDeadline: Double?
  var cancelReason: String?
  var cancelledBy: String?
  var idempotencyKey: String?
  /// Events lines skipped because they were malformed or oversized.
  var malformedEvents: Int
  /// Bytes of `events.jsonl` already ingested.
  var eventsOffset: Int64
  /// GPU slots held, as a comma-separated list.
  var gpuSlots: String?
  /// GPU-hours this job counts against its actor's daily budget.
  var estimatedGpuHours: Double = 0
  /// SHA-256 of the resolved request (for idempotent replays).
  var requestSha256: String?
  /// Labels as a JSON object.
  var metadata: String?
  /// The executor's id for the job (the Slurm job id).
  var nativeId: String?
  /// The attempt the job is on: 1, then one more per `job resume`.
  var attempt: Int = 1
  /// `train`, or `eval` for an evaluation job (`job eval`).
  var kind: String = "train"
  /// The job an evaluation job evaluates.
  var sourceJob: String?

  enum CodingKeys: String, CodingKey {
    case id, name, state, executor, actor, spec, progress, eval, signal
    case createdAt = "created_at"
    case startedAt = "started_at"
    case finishedAt = "finished_at"
    case baseModel = "base_model"
    case datasetId = "dataset_id"
    case datasetFingerprint = "dataset_fingerprint"
    case jobDir = "job_dir"
    case lossHistory = "loss_history"
    case errorCode = "error_code"
    case errorMessage = "error_message"
    case exitCode = "exit_code"
    case watcherPid = "watcher_pid"
    case watcherStartTime = "watcher_start_time"
    case trainerPid = "trainer_pid"
    case trainerStartTime = "trainer_start_time"
    case queueReason = "queue_reason"
    case cancelRequestedAt = "cancel_requested_at"
    case cancelDeadline = "cancel_deadline"
    case cancelReason = "cancel_reason"
    case cancelledBy = "cancelled_by"
    case idempotencyKey = "idempotency_key"
    case malformedEvents = "malformed_events"
    case nativeId = "native_id"
    case eventsOffset = "events_offset"
    case gpuSlots = "gpu_slots"
    case estimatedGpuHours = "estimated_gpu_hours"
    case requestSha256 = "request_sha256"
    case metadata, attempt, kind
    case sourceJob = "source_job"
  }
}

extension JobRecord {
  /// The row of a job just admitted, `queued`, from its spec.
  init(
    queued spec: JobSpec, actor: String, idempotencyKey: String?, estimatedGpuHours: Double, requestSha256: String
  ) throws {
    self.init(
      id: spec.jobId, name: spec.name, state: .queued, createdAt: spec.createdAt, startedAt: nil,
      finishedAt: nil, baseModel: spec.baseModel, datasetId: spec.dataset.id,
      datasetFingerprint: spec.dataset.fingerprint, executor: spec.executor, actor: actor,
      jobDir: spec.jobDir, spec: try JSONOutput.string(spec, pretty: false), progress: nil,
      lossHistory: nil, eval: nil, errorCode: nil, errorMessage: nil, exitCode: nil, signal: nil,
      watcherPid: nil, watcherStartTime: nil, trainerPid: nil, trainerStartTime: nil,
      queueReason: nil, cancelRequestedAt: nil, cancelDeadline: nil, cancelReason: nil,
      cancelledBy: nil, idempotencyKey: idempotencyKey, malformedEvents: 0, eventsOffset: 0,
      gpuSlots: nil, estimatedGpuHours: estimatedGpuHours, requestSha256: requestSha256,
      metadata: try JSONOutput.string(spec.metadata, pretty: false))
    if let evaluation = spec.evaluation {
      kind = "eval"
      sourceJob = evaluation.sourceJob
    }
  }
}

extension JobState: DatabaseValueConvertible {}
