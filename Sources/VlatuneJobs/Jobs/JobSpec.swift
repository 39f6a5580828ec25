import Foundation
import VlatuneGuardrails
import VlatuneSupport

/// The fully resolved request a trainer runs (`jobs/<id>/spec.json`, CONTRACT §7): every default
/// filled in, the dataset resolved to its package path and fingerprint, all paths absolute.
public struct JobSpec: Codable, Sendable, Equatable {
  /// The dataset a job trains on.
  public struct Dataset: Codable, Sendable, Equatable {
    /// `ds_…`.
    public var id: String
    /// The dataset's name (the `unnorm_key`).
    public var name: String
    /// The package directory.
    public var path: String
    /// The package fingerprint.
    public var fingerprint: String
    /// `<path>/dataset_statistics.json`.
    public var statistics: String
  }

  /// The trainer's command and environment.
  public struct Trainer: Codable, Sendable, Equatable {
    /// The command; `--spec <spec.json>` is appended.
    public var argv: [String]
    /// The trainer's fixed environment (``TrainerCommand/passedVariables``), except
    /// `CUDA_VISIBLE_DEVICES`, which the watcher sets from the GPU slots it holds.
    public var environment: [String: String]
    /// The names listed in `VLATUNE_TRAINER_ENV` (secrets such as `HF_TOKEN`): only the names are
    /// written here; the watcher passes their values on from its own environment.
    public var passedNames: [String]?

    /// A trainer command and its environment.
    public init(argv: [String], environment: [String: String], passedNames: [String]? = nil) {
      self.argv = argv
      self.environment = environment
      self.passedNames = passedNames
    }

    enum CodingKeys: String, CodingKey {
      case argv, environment
      case passedNames = "passed_environment"
    }
  }

  /// Always 1.
  public var schemaVersion = 1
  /// `job_…`.
  public var jobId: String
  /// Optional human name.
  public var name: String?
  /// RFC 3339 creation time.
  public var createdAt: String
  /// A built-in model name (`tiny-vla`) or a local checkpoint directory.
  public var baseModel: String
  /// What the base model is (`tiny-vla`, `lerobot/<type>`, `huggingface`; ``BaseModelKind``).
  public var baseModelKind: String?
  /// The dataset.
  public var dataset: Dataset
  /// Hyperparameters.
  public var hyperparameters: Hyperparameters
  /// GPUs to use (0: CPU).
  public var gpus: Int
  /// `local`.
  public var executor: String
  /// The job directory.
  public var jobDir: String
  /// Where the adapter and statistics go.
  public var outputDir: String
  /// Where `step-NNNNNNN/` checkpoints go.
  public var checkpointsDir: String
  /// The events file the trainer appends to.
  public var eventsPath: String
  /// The trainer command.
  public var trainer: Trainer
  /// Free-form labels.
  public var metadata: [String: String]
  /// Jobs that may run at once (the policy's `max_running_jobs` when this job was admitted).
  public var maxRunningJobs: Int
  /// Parameters and peak GPU memory expected (absent when the architecture is unknown).
  public var memoryEstimate: MemoryEstimate?
  /// Training processes (absent: one process on one node).
  public var distributed: Distributed?
  /// Submission settings for `executor: slurm`.
  public var slurm: SlurmSettings?
  /// The validated parameters the job was started with (the dataset as its id, without the
  /// idempotency key): what `job start --from`, `job show-config` and a resume's admission use.
  /// Absent in specs written before they were kept (``JobSpec/storedParameters``).
  public var parameters: [String: AnyJSONValue]?
  /// The checkpoint this attempt continues from (`job resume`); the trainer loads its adapter,
  /// optimizer, scheduler, RNG and data position.
  public var resume: Resume?
  /// A checkpoint of another job whose adapter weights this job starts from (`init_from`).
  public var initAdapter: String?
  /// The experiment tracker besides TensorBoard (`mlflow`, `wandb`; absent: none).
  public var tracker: String?
  /// What an evaluation job runs (absent for training jobs).
  public var evaluation: Evaluation?

  /// The checkpoint a resumed attempt continues from.
  public struct Resume: Codable, Sendable, Equatable {
    /// The checkpoint directory (`checkpoints/step-NNNNNNN`).
    public var checkpoint: String
    /// Its optimizer step.
    public var step: Int
    /// The attempt this is (2 for the first resume).
    public var attempt: Int
  }

  /// How many training processes run: `processes_per_node` on each of `nodes` (torchrun when
  /// more than one in all).
  public struct Distributed: Codable, Sendable, Equatable {
    /// Nodes.
    public var nodes: Int
    /// Processes per node (one per GPU by default).
    public var processesPerNode: Int

    enum CodingKeys: String, CodingKey {
      case nodes
      case processesPerNode = "processes_per_node"
    }
  }

  enum CodingKeys: String, CodingKey {
    case name, dataset, hyperparameters, gpus, executor, trainer, metadata
    case maxRunningJobs = "max_running_jobs"
    case memoryEstimate = "memory_estimate"
    case distributed, slurm, parameters, resume, tracker, evaluation
    case initAdapter = "init_adapter"
    case schemaVersion = "schema_version"
    case jobId = "job_id"
    case createdAt = "created_at"
    case baseModel = "base_model"
    case baseModelKind = "base_model_kind"
    case jobDir = "job_dir"
    case outputDir = "output_dir"
    case checkpointsDir = "checkpoints_dir"
    case eventsPath = "events_path"
  }
}

extension JobSpec {
  /// The parameters to start the same job again: those stored at start, or for an older spec
  /// the ones its fields record.
  public var storedParameters: [String: JSONValue] {
    if let parameters { return parameters.mapValues(\.value) }
    // An older spec: its fields under the table's names (Hyperparameters' coding keys are
    // those names; its decoder filled what such a spec lacks).
    let encoded = (try? JSONEncoder().encode(hyperparameters)).flatMap { try? JSONParser.parse([UInt8]($0)) }
    var values = (encoded?.objectValue ?? [:]).filter { JobParameters.table[$0.key] != nil }
    values[OptionalParameter<String>.baseModel.name] = .string(baseModel)
    values[OptionalParameter<String>.dataset.name] = .string(dataset.id)
    values[OptionalParameter<Int>.gpus.name] = .number(Double(gpus))
    values[OptionalParameter<String>.executor.name] = .string(executor)
    values[OptionalParameter<[String: String]>.metadata.name] = .object(metadata.mapValues { .string($0) })
    if let name { values[OptionalParameter<String>.name.name] = .string(name) }
    return values
  }
}
