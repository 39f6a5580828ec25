/// Typed keys of ``PrepareParameters/table`` and ``ResumeParameters/table``, held to their
/// tables by `ParameterKeysTests` like the job start keys.
extension PrepareParameters {
  /// Every key of the prepare table.
  public static let keys: [any TypedParameter] = [
    OptionalParameter<String>.source, OptionalParameter<String>.name, Parameter<String>.format,
    Parameter<Double>.valFraction, Parameter<String>.shardSize, Parameter<Int>.splitSeed,
    Parameter<String>.gripperDim, Parameter<Bool>.overwrite, OptionalParameter<String>.cameraMap,
    OptionalParameter<Double>.fps, OptionalParameter<String>.instruction, Parameter<Bool>.dropNoops,
    OptionalParameter<String>.filterKey, OptionalParameter<String>.rotate180,
    OptionalParameter<String>.gripperConvention, OptionalParameter<String>.actionKey,
    OptionalParameter<[String]>.stateKeys, Parameter<Bool>.skipIncomplete, Parameter<Bool>.followLinks,
  ]
}

extension ResumeParameters {
  /// Every key of the resume table.
  public static let keys: [any TypedParameter] = [
    OptionalParameter<String>.job, Parameter<String>.checkpoint, OptionalParameter<Int>.resumeMaxSteps,
  ]
}

extension Parameter where Value == String {
  /// `format` (prepare).
  public static let format = Self("format")
  /// `shard_size` (prepare): a size such as 256MB.
  public static let shardSize = Self("shard_size")
  /// `gripper_dim` (prepare): auto, none or an index.
  public static let gripperDim = Self("gripper_dim")
  /// `checkpoint` (resume): last, best or a step.
  public static let checkpoint = Self("checkpoint")
}

extension Parameter where Value == Double {
  /// `val_fraction` (prepare).
  public static let valFraction = Self("val_fraction")
}

extension Parameter where Value == Int {
  /// `seed` of the prepare table: the train/val split's (job start's `seed` has no default).
  public static let splitSeed = Self("seed")
}

extension Parameter where Value == Bool {
  /// `overwrite` (prepare).
  public static let overwrite = Self("overwrite")
  /// `drop_noops` (prepare).
  public static let dropNoops = Self("drop_noops")
  /// `skip_incomplete` (prepare).
  public static let skipIncomplete = Self("skip_incomplete")
  /// `follow_links` (prepare).
  public static let followLinks = Self("follow_links")
}

extension OptionalParameter where Value == String {
  /// `source` (prepare; required).
  public static let source = Self("source")
  /// `camera_map` (prepare).
  public static let cameraMap = Self("camera_map")
  /// `instruction` (prepare).
  public static let instruction = Self("instruction")
  /// `filter_key` (prepare).
  public static let filterKey = Self("filter_key")
  /// `rotate_180` (prepare).
  public static let rotate180 = Self("rotate_180")
  /// `gripper_convention` (prepare).
  public static let gripperConvention = Self("gripper_convention")
  /// `action_key` (prepare).
  public static let actionKey = Self("action_key")
  /// `job` (resume; required).
  public static let job = Self("job")
}

extension OptionalParameter where Value == Double {
  /// `fps` (prepare).
  public static let fps = Self("fps")
}

extension OptionalParameter where Value == Int {
  /// `max_steps` of the resume table (default: the job's own).
  public static let resumeMaxSteps = Self("max_steps")
}

extension OptionalParameter where Value == [String] {
  /// `state_keys` (prepare).
  public static let stateKeys = Self("state_keys")
}
