import VlatuneSupport

/// The parameters of `job eval` / `evaluate_policy`: a closed-loop evaluation in simulation of
/// a job's adapter (docs/eval.md).
public enum EvalParameters {
  /// The table.
  public static let table = ParameterTable([
    ParameterDefinition(
      name: "job", kind: .string(maxLength: 4096), required: true,
      help: "The trained job (id, unique id prefix or name), or an adapter directory of one "
        + "(jobs/<id>/output/adapter)."),
    ParameterDefinition(
      name: "adapter", kind: .string(maxLength: 32), defaultValue: .string("final"),
      help: "Which weights: final (output/adapter), best (the lowest val_l1), a checkpoint step, "
        + "or base (the model as the job started it, before any training; tiny-vla)."),
    ParameterDefinition(
      name: "env", kind: .string(maxLength: 64), defaultValue: .string("metaworld"),
      help: "The simulator (vlatune sim envs lists them)."),
    ParameterDefinition(
      name: "task", kind: .string(maxLength: 128), required: true,
      help: "The simulator's task (metaworld: button-press-topdown-v3, pick-place-v3, ...)."),
    ParameterDefinition(
      name: "episodes", kind: .integer, unit: "episodes", minimum: 1, maximum: 10_000,
      defaultValue: .number(20), help: "Rollouts to run, one task variation each."),
    ParameterDefinition(
      name: "max_steps", kind: .integer, unit: "steps", minimum: 1, maximum: 10_000,
      defaultValue: .number(150), help: "Actions per episode at most; an episode ends early on success."),
    ParameterDefinition(
      name: "seed", kind: .integer, minimum: 0, maximum: 9_999, defaultValue: .number(0),
      help: "Evaluation seed: episode i runs variation 1000000000 + seed * 100000 + i, never a "
        + "demonstration's; the same seed evaluates every adapter on the same episodes."),
    ParameterDefinition(
      name: "action_horizon", kind: .integer, unit: "actions", minimum: 1, maximum: 256,
      help: "Actions run from each predicted chunk before the policy looks again; default the "
        + "chunk the model was trained with (action_chunk; a LeRobot policy's n_action_steps)."),
    ParameterDefinition(
      name: "image_size", kind: .integer, unit: "pixels", minimum: 16, maximum: 512,
      help: "Square size the simulator renders at; default the size of the dataset's frames the "
        + "adapter was trained on (else 96)."),
    ParameterDefinition(
      name: "videos", kind: .integer, unit: "episodes", minimum: 0, maximum: 50, defaultValue: .number(2),
      help: "Episodes recorded as mp4 (FFmpeg) in the job's output/videos."),
    ParameterDefinition(
      name: "gpus", kind: .integer, minimum: 0, maximum: 8,
      help: "GPUs for the policy; default 1 when the machine has a GPU, else 0."),
    ParameterDefinition(
      name: "name", kind: .string(maxLength: 64),
      help: "A name for the evaluation job (letters, digits, '.', '_', '-')."),
    ParameterDefinition(
      name: "metadata", kind: .keyValues(maxPairs: 16, maxKeyLength: 64, maxValueLength: 512),
      help: "Free-form key=value labels stored with the job."),
    ParameterDefinition(
      name: "idempotency_key", kind: .string(maxLength: 255),
      help: "Retry-safe key: the same key and request return the original evaluation job; a "
        + "different request with the same key is refused. Keys expire after 24 h."),
  ])

  /// Every key of the table (held to it by `ParameterKeysTests`).
  public static let keys: [any TypedParameter] = [
    OptionalParameter<String>.job, Parameter<String>.adapter, Parameter<String>.env, OptionalParameter<String>.task,
    Parameter<Int>.episodes, Parameter<Int>.episodeSteps, Parameter<Int>.evalSeed,
    OptionalParameter<Int>.actionHorizon, OptionalParameter<Int>.renderSize, Parameter<Int>.videos,
    OptionalParameter<Int>.gpus, OptionalParameter<String>.name, OptionalParameter<[String: String]>.metadata,
    OptionalParameter<String>.idempotencyKey,
  ]
}

extension Parameter where Value == String {
  /// `adapter` (eval): final, best, a step or base.
  public static let adapter = Self("adapter")
  /// `env` (eval): the simulator.
  public static let env = Self("env")
}

extension OptionalParameter where Value == String {
  /// `task` (eval): the simulator's task.
  public static let task = Self("task")
}

extension Parameter where Value == Int {
  /// `episodes` (eval).
  public static let episodes = Self("episodes")
  /// `max_steps` of the eval table: actions per episode (job start's is optimizer steps).
  public static let episodeSteps = Self("max_steps")
  /// `seed` of the eval table: the evaluation seed.
  public static let evalSeed = Self("seed")
  /// `videos` (eval).
  public static let videos = Self("videos")
}

extension OptionalParameter where Value == Int {
  /// `action_horizon` (eval).
  public static let actionHorizon = Self("action_horizon")
  /// `image_size` of the eval table: the render size (job start's is the model's input size).
  public static let renderSize = Self("image_size")
}
