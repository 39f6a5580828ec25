/// Typed keys of ``JobParameters/table``: the resolver reads every parameter through one of
/// these, so a default lives in the table alone (`JobParametersKeysTests` holds the two
/// together: names, types, defaults, and a key for every parameter).
extension JobParameters {
  /// Every key, for that check.
  public static let keys: [any TypedParameter] = [
    OptionalParameter<String>.baseModel, OptionalParameter<String>.dataset, Parameter<Int>.loraRank,
    Parameter<Double>.loraAlpha, Parameter<Double>.loraDropout, Parameter<[String]>.targetModules,
    Parameter<Double>.learningRate, Parameter<Int>.batchSize, Parameter<Int>.gradAccum, Parameter<Int>.maxSteps,
    OptionalParameter<Int>.seed, OptionalParameter<Int>.gpus, Parameter<Int>.actionChunk,
    OptionalParameter<Int>.imageSize, Parameter<String>.proprio, Parameter<String>.precision,
    Parameter<Int>.checkpointInterval, Parameter<String>.lrSchedule, Parameter<Int>.dataWorkers,
    Parameter<Bool>.gradientCheckpointing, Parameter<Bool>.trustRemoteCode,
    OptionalParameter<[String: String]>.imageMap, OptionalParameter<String>.tokenizer, Parameter<Bool>.force,
    OptionalParameter<String>.name, OptionalParameter<[String: String]>.metadata,
    OptionalParameter<String>.idempotencyKey, OptionalParameter<String>.from, OptionalParameter<String>.initFrom,
    Parameter<String>.tracker, OptionalParameter<String>.executor, Parameter<Int>.nodes,
    OptionalParameter<Int>.processes, OptionalParameter<String>.slurmPartition,
    OptionalParameter<String>.slurmAccount, OptionalParameter<String>.slurmQos,
    OptionalParameter<String>.slurmMemory, OptionalParameter<Int>.timeLimit,
  ]
}

extension Parameter where Value == Int {
  /// `lora_rank`.
  public static let loraRank = Self("lora_rank")
  /// `batch_size`.
  public static let batchSize = Self("batch_size")
  /// `grad_accum`.
  public static let gradAccum = Self("grad_accum")
  /// `max_steps`.
  public static let maxSteps = Self("max_steps")
  /// `action_chunk`.
  public static let actionChunk = Self("action_chunk")
  /// `checkpoint_interval`.
  public static let checkpointInterval = Self("checkpoint_interval")
  /// `data_workers`.
  public static let dataWorkers = Self("data_workers")
  /// `nodes`.
  public static let nodes = Self("nodes")
}

extension Parameter where Value == Double {
  /// `lora_alpha`.
  public static let loraAlpha = Self("lora_alpha")
  /// `lora_dropout`.
  public static let loraDropout = Self("lora_dropout")
  /// `learning_rate`.
  public static let learningRate = Self("learning_rate")
}

extension Parameter where Value == String {
  /// `proprio`.
  public static let proprio = Self("proprio")
  /// `precision`.
  public static let precision = Self("precision")
  /// `lr_schedule`.
  public static let lrSchedule = Self("lr_schedule")
  /// `tracker`.
  public static let tracker = Self("tracker")
}

extension Parameter where Value == Bool {
  /// `gradient_checkpointing`.
  public static let gradientCheckpointing = Self("gradient_checkpointing")
  /// `trust_remote_code`.
  public static let trustRemoteCode = Self("trust_remote_code")
  /// `force`.
  public static let force = Self("force")
}

extension Parameter where Value == [String] {
  /// `target_modules`.
  public static let targetModules = Self("target_modules")
}

extension OptionalParameter where Value == String {
  /// `base_model` (required unless `from` gives it).
  public static let baseModel = Self("base_model")
  /// `dataset` (required unless `from` gives it).
  public static let dataset = Self("dataset")
  /// `tokenizer`.
  public static let tokenizer = Self("tokenizer")
  /// `name`.
  public static let name = Self("name")
  /// `idempotency_key`.
  public static let idempotencyKey = Self("idempotency_key")
  /// `from`.
  public static let from = Self("from")
  /// `init_from`.
  public static let initFrom = Self("init_from")
  /// `executor` (default: the policy's `default_executor`).
  public static let executor = Self("executor")
  /// `slurm_partition`.
  public static let slurmPartition = Self("slurm_partition")
  /// `slurm_account`.
  public static let slurmAccount = Self("slurm_account")
  /// `slurm_qos`.
  public static let slurmQos = Self("slurm_qos")
  /// `slurm_memory`.
  public static let slurmMemory = Self("slurm_memory")
}

extension OptionalParameter where Value == Int {
  /// `seed` (drawn at random when absent).
  public static let seed = Self("seed")
  /// `gpus` (default: 1 when the machine has a GPU, else 0).
  public static let gpus = Self("gpus")
  /// `image_size` (default: the model's native size).
  public static let imageSize = Self("image_size")
  /// `processes` (default: one per GPU).
  public static let processes = Self("processes")
  /// `time_limit`.
  public static let timeLimit = Self("time_limit")
}

extension OptionalParameter where Value == [String: String] {
  /// `image_map`.
  public static let imageMap = Self("image_map")
  /// `metadata`.
  public static let metadata = Self("metadata")
}
