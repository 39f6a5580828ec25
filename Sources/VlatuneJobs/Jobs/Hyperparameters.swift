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
  public var proprio: String
  /// `auto`, `fp32`, `bf16` or `fp16`.
  public var precision: String
  /// Steps between checkpoints.
  public var checkpointInterval: Int
  /// Modules LoRA wraps.
  public var targetModules: [String]
  /// `cosine` or `constant` after warmup.
  public var lrSchedule: String
  /// DataLoader worker processes.
  public var dataWorkers: Int
  /// Recompute activations in the backward pass.
  public var gradientCheckpointing: Bool
  /// Allow a checkpoint directory's own code.
  public var trustRemoteCode: Bool
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

extension Hyperparameters {
  /// Decodes a spec's hyperparameters. Fields that specs written before they existed lack
  /// take the value the trainer then used (proprio all, lr_schedule cosine, data_workers 0,
  /// gradient_checkpointing and trust_remote_code false), so every spec vlatune writes again
  /// (a resume, a fork) is complete and the trainer reads no default of its own.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    self.init(
      loraRank: try container.decode(Int.self, forKey: .loraRank),
      loraAlpha: try container.decode(Double.self, forKey: .loraAlpha),
      loraDropout: try container.decode(Double.self, forKey: .loraDropout),
      learningRate: try container.decode(Double.self, forKey: .learningRate),
      batchSize: try container.decode(Int.self, forKey: .batchSize),
      gradAccum: try container.decode(Int.self, forKey: .gradAccum),
      effectiveBatchSize: try container.decode(Int.self, forKey: .effectiveBatchSize),
      maxSteps: try container.decode(Int.self, forKey: .maxSteps),
      seed: try container.decode(UInt64.self, forKey: .seed),
      actionChunk: try container.decode(Int.self, forKey: .actionChunk),
      imageSize: try container.decodeIfPresent(Int.self, forKey: .imageSize),
      proprio: try container.decodeIfPresent(String.self, forKey: .proprio) ?? "all",
      precision: try container.decode(String.self, forKey: .precision),
      checkpointInterval: try container.decode(Int.self, forKey: .checkpointInterval),
      targetModules: try container.decode([String].self, forKey: .targetModules),
      lrSchedule: try container.decodeIfPresent(String.self, forKey: .lrSchedule) ?? "cosine",
      dataWorkers: try container.decodeIfPresent(Int.self, forKey: .dataWorkers) ?? 0,
      gradientCheckpointing: try container.decodeIfPresent(Bool.self, forKey: .gradientCheckpointing) ?? false,
      trustRemoteCode: try container.decodeIfPresent(Bool.self, forKey: .trustRemoteCode) ?? false,
      imageMap: try container.decodeIfPresent([String: String].self, forKey: .imageMap),
      tokenizer: try container.decodeIfPresent(String.self, forKey: .tokenizer))
  }
}
