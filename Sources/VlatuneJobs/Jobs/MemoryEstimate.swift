import Foundation
import VlatuneGuardrails
import VlatuneSupport

/// An estimate of a job's parameters and peak GPU memory, made from the resolved spec before
/// anything starts, so a job that cannot fit is refused (69) instead of failing with `oom` after
/// its data has loaded.
///
/// Peak memory = frozen weights (2 bytes each in bf16 on a GPU, 4 in fp32)
/// + trainable LoRA parameters × 16 bytes (fp32 weight, gradient, two AdamW moments)
/// + activations (per layer and token: 34 × hidden bytes, the Megatron-LM estimate for a
///   transformer layer in 16-bit; with gradient checkpointing only each layer's input, 2 × hidden,
///   plus one layer's full set) + fp32 logits over the vocabulary for token models
/// + a fixed 512 MiB for the CUDA context and allocator slack.
/// The parameter count is exact for `safetensors` checkpoints (read from the file headers);
/// LoRA and activations are estimates from `config.json` (hidden size, layers, MLP width).
public struct MemoryEstimate: Codable, Sendable, Equatable {
  /// Parameters of the base model.
  public var parameters: Int
  /// LoRA (and fully trained head) parameters.
  public var trainableParameters: Int
  /// Frozen weights.
  public var weightBytes: Int
  /// Trainable parameters with their gradients and optimizer state.
  public var trainableStateBytes: Int
  /// Activations kept for the backward pass (and logits).
  public var activationBytes: Int
  /// CUDA context and allocator slack.
  public var overheadBytes: Int
  /// The sum: the estimated peak per GPU.
  public var totalBytes: Int
  /// Memory of the smallest GPU on this machine, when known.
  public var gpuMemoryBytes: Int?

  enum CodingKeys: String, CodingKey {
    case parameters
    case trainableParameters = "trainable_parameters"
    case weightBytes = "weight_bytes"
    case trainableStateBytes = "trainable_state_bytes"
    case activationBytes = "activation_bytes"
    case overheadBytes = "overhead_bytes"
    case totalBytes = "total_bytes"
    case gpuMemoryBytes = "gpu_memory_bytes"
  }

  /// The shape numbers an estimate needs.
  public struct Architecture: Sendable, Equatable {
    /// Parameters of the whole model.
    public var parameters: Int
    /// Transformer width.
    public var hidden: Int
    /// Transformer layers (language and vision together).
    public var layers: Int
    /// MLP width.
    public var intermediate: Int
    /// Tokens per sample (image tokens, prompt, actions).
    public var sequence: Int
    /// Vocabulary (0 for continuous-head models).
    public var vocabulary: Int
    /// Trainable parameters that are not LoRA (a fully trained head).
    public var headParameters: Int
  }

  /// The built-in tiny-vla (`trainer/vlatune_trainer/models/tiny_vla.py` defaults: width 128,
  /// 4 blocks, MLP 512, 2 cameras × 16 patches + 12 words + 1 state token); the count is that of
  /// the committed base, checked by a test.
  public static let tinyVLA = Architecture(
    parameters: 1_408_364, hidden: 128, layers: 4, intermediate: 512, sequence: 45, vocabulary: 0,
    headParameters: 193_836)

  /// The estimate for a spec (`nil` when the base model's architecture cannot be read).
  public static func estimate(spec: JobSpec, gpuMemoryBytes: Int?) -> MemoryEstimate? {
    if !JobParameters.builtinModels.contains(spec.baseModel), let checkpoint = LeRobotCheckpoint.read(spec.baseModel) {
      return lerobot(checkpoint, spec: spec, gpuMemoryBytes: gpuMemoryBytes)
    }
    guard let architecture = architecture(of: spec.baseModel) else { return nil }
    let hyper = spec.hyperparameters
    let onGPU = spec.gpus > 0
    let weightBytesPerParameter = autocasts(spec) && architecture.vocabulary > 0 ? 2 : 4
    let linearsPerLayer = 8 * architecture.hidden + 3 * (architecture.hidden + architecture.intermediate)
    let lora = hyper.loraRank * linearsPerLayer * architecture.layers
    let trainable = lora + architecture.headParameters
    let tokens = hyper.batchSize * architecture.sequence
    let perLayer = tokens * architecture.hidden * 34
    let activations =
      hyper.gradientCheckpointing
      ? tokens * architecture.hidden * 2 * architecture.layers + perLayer
      : perLayer * architecture.layers
    let logits = tokens * architecture.vocabulary * 4
    let overhead = onGPU ? 512 << 20 : 0
    let weights = architecture.parameters * weightBytesPerParameter
    let state = trainable * 16
    return MemoryEstimate(
      parameters: architecture.parameters, trainableParameters: trainable, weightBytes: weights,
      trainableStateBytes: state, activationBytes: activations + logits, overheadBytes: overhead,
      totalBytes: weights + state + activations + logits + overhead, gpuMemoryBytes: gpuMemoryBytes)
  }

  /// A LeRobot policy checkpoint: parameters and LoRA parameters exact from the weight files'
  /// headers, fp32 weights (the trainer autocasts, it does not cast them; bf16 for pi with
  /// `dtype: bfloat16`), and the activations `LeRobotActivations` models (bf16 in autocast or
  /// with bf16 weights, with the bf16 weight copies autocast keeps of fp32 ones); GR00T has no
  /// activation term (docs/trainer.md).
  static func lerobot(_ checkpoint: LeRobotCheckpoint, spec: JobSpec, gpuMemoryBytes: Int?) -> MemoryEstimate? {
    let tensors = checkpoint.tensors
    let parameters = tensors.values.reduce(0) { $0 + $1.reduce(1, *) }
    guard parameters > 0 else { return nil }
    let hyper = spec.hyperparameters
    let trainable = checkpoint.loraParameters(tensors: tensors, rank: hyper.loraRank, targets: hyper.targetModules)
    let overhead = spec.gpus > 0 ? 512 << 20 : 0
    // pi0 / pi0.5 with `dtype: bfloat16` hold their weights in bf16, but for the vision path
    // and the norms (LeRobot keeps those in fp32).
    let keptInFP32 = [
      "vision_tower", "multi_modal_projector", "input_layernorm", "post_attention_layernorm", "model.norm",
    ]
    let weights =
      checkpoint.bf16Weights
      ? tensors.reduce(0) { total, entry in
        total + entry.value.reduce(1, *) * (keptInFP32.contains(where: entry.key.contains) ? 4 : 2)
      } : parameters * 4
    let state = trainable * 16
    let activations =
      checkpoint.activations?.bytes(
        batchSize: hyper.batchSize, autocast: autocasts(spec), bf16Weights: checkpoint.bf16Weights,
        checkpointing: hyper.gradientCheckpointing) ?? 0
    return MemoryEstimate(
      parameters: parameters, trainableParameters: trainable, weightBytes: weights,
      trainableStateBytes: state, activationBytes: activations, overheadBytes: overhead,
      totalBytes: weights + state + activations + overhead, gpuMemoryBytes: gpuMemoryBytes)
  }

  /// Whether the trainer runs the job in bf16 autocast: on a GPU with `precision` auto or bf16
  /// (fp16 and fp32 train in fp32).
  static func autocasts(_ spec: JobSpec) -> Bool {
    spec.gpus > 0 && ["auto", "bf16"].contains(spec.hyperparameters.precision)
  }

  /// tiny-vla, or a checkpoint directory's `config.json` and `*.safetensors` headers.
  public static func architecture(of baseModel: String) -> Architecture? {
    if baseModel == "tiny-vla" { return tinyVLA }
    let directory = URL(fileURLWithPath: (baseModel as NSString).expandingTildeInPath)
    guard let data = try? Data(contentsOf: directory.appendingPathComponent("config.json")),
      let config = try? JSONParser.parse(Array(data)).objectValue
    else { return nil }
    let text = config["text_config"]?.objectValue ?? config
    let vision = config["vision_config"]?.objectValue
    func integer(_ object: [String: JSONValue]?, _ keys: String...) -> Int? {
      for key in keys { if let value = object?[key]?.numberValue { return Int(value) } }
      return nil
    }
    guard let hidden = integer(text, "hidden_size", "d_model", "n_embd") else { return nil }
    let layers =
      (integer(text, "num_hidden_layers", "n_layer", "num_layers") ?? 0)
      + (integer(vision, "num_hidden_layers") ?? 0)
    let intermediate = integer(text, "intermediate_size", "ffn_dim") ?? 4 * hidden
    let vocabulary = integer(text, "vocab_size") ?? integer(config, "vocab_size") ?? 0
    var imageTokens = 256
    if let size = integer(vision, "image_size"), let patch = integer(vision, "patch_size"), patch > 0 {
      imageTokens = (size / patch) * (size / patch)
    }
    let parameters = safetensorsParameters(in: directory)
    guard parameters > 0 else { return nil }
    return Architecture(
      parameters: parameters, hidden: hidden, layers: max(layers, 1), intermediate: intermediate,
      sequence: imageTokens + 64, vocabulary: vocabulary, headParameters: 0)
  }

  /// The number of parameters in a directory's `*.safetensors` files, from their JSON headers.
  public static func safetensorsParameters(in directory: URL) -> Int {
    safetensorsTensors(in: directory).values.reduce(0) { $0 + $1.reduce(1, *) }
  }

  /// Every tensor's name and shape in a directory's `*.safetensors` files, from their JSON
  /// headers (8-byte little-endian length, then `{name: {dtype, shape, data_offsets}}`).
  public static func safetensorsTensors(in directory: URL) -> [String: [Int]] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    var result: [String: [Int]] = [:]
    for name in names where name.hasSuffix(".safetensors") {
      guard let handle = try? FileHandle(forReadingFrom: directory.appendingPathComponent(name)),
        let prefix = try? handle.read(upToCount: 8), prefix.count == 8
      else { continue }
      defer { try? handle.close() }
      let length = prefix.reversed().reduce(0) { $0 << 8 | Int($1) }
      guard length > 0, length < 100 << 20, let header = try? handle.read(upToCount: length),
        let tensors = try? JSONParser.parse(Array(header)).objectValue
      else { continue }
      for (key, tensor) in tensors where key != "__metadata__" {
        let dimensions = tensor["shape"]?.arrayValue ?? []
        let shape = dimensions.compactMap(\.countValue)
        // A dimension that is no count, or a tensor past 2⁴⁰ elements, is no real weight.
        var elements = 1
        for size in shape {
          let (product, overflow) = elements.multipliedReportingOverflow(by: size)
          elements = overflow ? Int.max : product
        }
        guard shape.count == dimensions.count, elements <= 1 << 40 else { continue }
        result[key] = shape
      }
    }
    return result
  }

  /// Whether it fits the GPU (always true on CPU or when the GPU's memory is unknown).
  public var fits: Bool { gpuMemoryBytes.map { totalBytes <= $0 } ?? true }
}
