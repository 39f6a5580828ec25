import VlatuneSupport

/// The training hyperparameters of a job, every default filled in.
public struct Hyperparameters: Codable, Sendable, Equatable {
  /// LoRA rank.
  public var loraRank: Int
  /// LoRA alpha (the update is scaled by alpha / rank).
  public var loraAlpha: Double
  /// LoRA dropout.
  public var loraDropout: Double
  /// Peak learning rate.
  public var learningRate: Double
  /// Per-device batch size.
  public var batchSize: Int
  /// Gradient accumulation steps.
  public var gradAccum: Int
  /// `batch_size × grad_accum × max(gpus, 1)`.
  public var effectiveBatchSize: Int
  /// Optimizer steps.
  public var maxSteps: Int
  /// Seed of everything random in training.
  public var seed: UInt64
  /// Actions predicted per step.
  public var actionChunk: Int
  /// Square image size fed to the model (`nil`: the model's native size).
  public var imageSize: Int?
  /// State dimensions the model sees: `all`, `none` or comma-separated indices.
  public var proprio: String = "all"
  /// `auto`, `fp32`, `bf16` or `fp16`.
  public var precision: String
  /// Steps between checkpoints.
  public var checkpointInterval: Int
  /// Modules LoRA wraps.
  public var targetModules: [String]
  /// `cosine` or `constant` after warmup (absent in older specs: cosine).
  public var lrSchedule: String?
  /// DataLoader worker processes (absent in specs written before it existed: 0).
  public var dataWorkers: Int?
  /// Recompute activations in the backward pass.
  public var gradientCheckpointing: Bool?
  /// Allow a checkpoint directory's own code.
  public var trustRemoteCode: Bool?
  /// LeRobot policies: the package camera feeding each image slot (`slot: camera`).
  public var imageMap: [String: String]?
  /// LeRobot SmolVLA: the local backbone directory used instead of `vlm_model_name`.
  public var tokenizer: String?

  enum CodingKeys: String, CodingKey {
    case seed
    case loraRank = "lora_rank"
    case loraAlpha = "lora_alpha"
    case loraDropout = "lora_dropout"
    case learningRate = "learning_rate"
    case batchSize = "batch_size"
    case gradAccum = "grad_accum"
    case effectiveBatchSize = "effective_batch_size"
    case maxSteps = "max_steps"
    case actionChunk = "action_chunk"
    case imageSize = "image_size"
    case precision, proprio
    case checkpointInterval = "checkpoint_interval"
    case targetModules = "target_modules"
    case dataWorkers = "data_workers"
    case lrSchedule = "lr_schedule"
    case gradientCheckpointing = "gradient_checkpointing"
    case trustRemoteCode = "trust_remote_code"
    case imageMap = "image_map"
    case tokenizer
  }
}
