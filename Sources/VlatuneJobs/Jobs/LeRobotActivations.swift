import Foundation
import VlatuneSupport

/// What one training sample of a LeRobot policy keeps for its backward pass — the memory
/// estimate's activation term for these kinds — and the bf16 copies of frozen weights that
/// autocast keeps beside it. Each family's model counts the tensors autograd saves on the
/// gradient path LoRA on the family's default targets opens (a `--target-modules` choice is
/// estimated as if it were the default): `VLAActivations` (SmolVLA, pi0, pi0.5),
/// `ACTActivations`, `UNetActivations` (diffusion). GR00T N1.7 is not modelled (its estimate
/// has no activation term). Calibrated against the trainer's own meter, which also reports what
/// every job's first step saved (`completed`'s `saved_activation_bytes`; docs/trainer.md).
public enum LeRobotActivations: Sendable, Equatable {
  /// A VLM with an action expert.
  case vla(VLAActivations)
  /// ACT's transformer (VAE encoder, encoder, decoder).
  case act(ACTActivations)
  /// Diffusion policy's conditional 1-D U-Net.
  case unet(UNetActivations)

  /// The model of `type`'s checkpoint, or `nil` for a family without one (GR00T) or a
  /// checkpoint missing what it reads.
  static func read(
    type: String, config: [String: JSONValue], tensors: [String: [Int]], imageSlots: [String],
    backboneConfig: [String: JSONValue]?
  ) -> LeRobotActivations? {
    switch type {
    case "smolvla", "pi0", "pi05":
      VLAActivations.read(
        type: type, config: config, tensors: tensors, imageSlots: imageSlots.count, backboneConfig: backboneConfig
      ).map(LeRobotActivations.vla)
    case "act":
      ACTActivations.read(config: config, tensors: tensors, imageSlots: imageSlots).map(LeRobotActivations.act)
    case "diffusion": UNetActivations.read(config: config, tensors: tensors).map(LeRobotActivations.unet)
    default: nil
    }
  }

  /// Bytes one sample keeps: fp32, or in bf16 autocast (`bf16`); `checkpointing`: with the
  /// family's gradient checkpointing.
  /// The models count in floating point and this saturates at 2⁴⁸ bytes a sample, which no
  /// GPU holds, so the shapes of a hostile checkpoint cannot overflow the estimate.
  public func bytesPerSample(bf16: Bool, checkpointing: Bool) -> Int {
    let bytes =
      switch self {
      case .vla(let model): model.bytes(bf16: bf16, checkpointing: checkpointing)
      case .act(let model): model.bytes(bf16: bf16)
      case .unet(let model): model.bytes(bf16: bf16, checkpointing: checkpointing)
      }
    return bytes < Double(Self.saturated) ? Int(bytes) : Self.saturated
  }

  /// What a sample's count saturates at (2⁴⁸ bytes).
  static let saturated = 1 << 48

  /// The activation term of a batch of `batchSize`: the samples (in bf16 under `autocast` or
  /// with `bf16Weights`), and under autocast the bf16 copies of fp32 weights (with gradient
  /// checkpointing those live only while one layer is recomputed: not counted).
  public func bytes(batchSize: Int, autocast: Bool, bf16Weights: Bool, checkpointing: Bool) -> Int {
    batchSize * bytesPerSample(bf16: autocast || bf16Weights, checkpointing: checkpointing)
      + (autocast && !bf16Weights && !checkpointing ? castWeightBytes : 0)
  }

  /// The bf16 copies autocast keeps of the frozen weights on the gradient path.
  public var castWeightBytes: Int {
    switch self {
    case .vla(let model): model.castWeightBytes
    case .act(let model): model.castWeightBytes
    case .unet(let model): model.castWeightBytes
    }
  }

  /// A count in a JSON object (`JSONValue.countValue`).
  static func number(_ object: [String: JSONValue]?, _ key: String) -> Int? {
    object?[key]?.countValue
  }

  /// Parameters of the 2- and 3-dimensional weights (linear and convolution) under `prefixes`.
  static func weightParameters(_ tensors: [String: [Int]], under prefixes: [String]) -> Int {
    tensors.reduce(0) { total, entry in
      let (name, shape) = entry
      guard name.hasSuffix("weight"), shape.count >= 2, prefixes.contains(where: name.hasPrefix) else { return total }
      return total + shape.reduce(1, *)
    }
  }
}
