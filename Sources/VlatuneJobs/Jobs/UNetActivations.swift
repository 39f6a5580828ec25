import Foundation
import VlatuneSupport

/// What one training sample of LeRobot's diffusion policy keeps for its backward pass. LoRA on
/// the conditional U-Net's convolutions and FiLM encoders puts the whole U-Net on the gradient
/// path (the vision backbone stays off it). Each convolution block (Conv1d → GroupNorm → Mish)
/// keeps about four values per output channel and position — its input, the norm's input, the
/// Mish's input and the FiLM-modulated output — and each residual block's FiLM encoder its
/// conditioning vector twice. Positions halve at each level down (`horizon`, `horizon`/2, …)
/// and double back up; channels come from the weight files' headers.
public struct UNetActivations: Sendable, Equatable {
  /// Σ over the convolution blocks of output channels × positions.
  public var blockValues: Int
  /// Σ over the convolution blocks of input channels × positions (what gradient checkpointing
  /// keeps).
  public var blockInputs: Int
  /// The largest block's output channels × positions (the one checkpointing recomputes at a time).
  public var largestBlock: Int
  /// Σ over the residual blocks of the conditioning vector's size.
  public var conditioning: Int
  /// Parameters of the U-Net's weights (the frozen ones autocast copies to bf16).
  public var parameters: Int

  static func read(config: [String: JSONValue], tensors: [String: [Int]]) -> UNetActivations? {
    guard let horizon = LeRobotActivations.number(config, "horizon"),
      let levels = config["down_dims"]?.arrayValue?.count, levels > 0
    else { return nil }
    // Counted in floating point: a hostile header's shapes cannot overflow (stored saturated).
    var values = 0.0
    var inputs = 0.0
    var largest = 0.0
    var conditioning = 0.0
    for (name, shape) in tensors where name.hasPrefix("diffusion.unet.") {
      let parts = name.split(separator: ".")
      let positions: Int
      switch parts.count > 3 ? parts[2] : "" {
      case "down_modules": positions = horizon >> (Int(parts[3]) ?? 0)
      case "up_modules": positions = horizon >> max(levels - 1 - (Int(parts[3]) ?? 0), 0)
      case "mid_modules": positions = horizon >> (levels - 1)
      default: positions = horizon
      }
      if name.hasSuffix("block.0.weight"), shape.count == 3 {
        values += Double(shape[0]) * Double(positions)
        inputs += Double(shape[1]) * Double(positions)
        largest = max(largest, Double(shape[0]) * Double(positions))
      } else if name.hasSuffix("cond_encoder.1.weight"), shape.count == 2 {
        conditioning += Double(shape[1])
      }
    }
    guard values > 0 else { return nil }
    func saturated(_ value: Double) -> Int { value < 0x1_0000_0000_0000 ? Int(value) : 1 << 48 }
    return UNetActivations(
      blockValues: saturated(values), blockInputs: saturated(inputs), largestBlock: saturated(largest),
      conditioning: saturated(conditioning),
      parameters: LeRobotActivations.weightParameters(tensors, under: ["diffusion.unet."]))
  }

  /// Bytes one sample keeps: fp32 (16 bytes a block value), or in bf16 autocast (10: the
  /// convolutions' outputs in bf16, GroupNorm and Mish in fp32); with gradient checkpointing,
  /// the blocks' inputs and the largest block's full set (an approximation: LeRobot checkpoints
  /// whole residual blocks). Counted in floating point (`LeRobotActivations.bytesPerSample`
  /// saturates it).
  func bytes(bf16: Bool, checkpointing: Bool) -> Double {
    let perValue: Double = bf16 ? 10 : 16
    let perCondition: Double = bf16 ? 4 : 8
    let condition = perCondition * Double(conditioning)
    if checkpointing { return 4 * Double(blockInputs) + perValue * Double(largestBlock) + condition }
    return perValue * Double(blockValues) + condition
  }

  /// The bf16 copies autocast keeps of the U-Net's frozen weights.
  public var castWeightBytes: Int { 2 * parameters }
}
