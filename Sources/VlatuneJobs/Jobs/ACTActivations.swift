import Foundation
import VlatuneSupport

/// What one training sample of LeRobot's ACT keeps for its backward pass. LoRA on every layer's
/// feed-forward (`linear1`, `linear2`) puts the VAE encoder (from its first feed-forward on),
/// the encoder and the decoder on the gradient path; the ResNet backbone stays off it (frozen,
/// fed by images). A layer keeps a token's queries, keys and values (3 × width), the attention
/// probabilities (and their dropout mask), two or three norms' inputs, the feed-forward's input,
/// ReLU output and `linear2` input, and the dropout masks; the decoder's cross-attention keeps
/// the encoder's keys and values. Tokens: the encoder reads the latent, the state and each
/// camera's backbone feature map (stride 32, 16 with `replace_final_stride_with_dilation`), the
/// VAE encoder a class token, the state and the action chunk, the decoder the chunk.
public struct ACTActivations: Sendable, Equatable {
  /// `dim_model`.
  public var width: Int
  /// `dim_feedforward`.
  public var feedForward: Int
  /// `n_heads`.
  public var heads: Int
  /// `n_encoder_layers`, `n_decoder_layers`, and `n_vae_encoder_layers` (0 without `use_vae`).
  public var encoderLayers: Int
  /// See `encoderLayers`.
  public var decoderLayers: Int
  /// See `encoderLayers`.
  public var vaeLayers: Int
  /// Encoder, VAE-encoder and decoder tokens a sample.
  public var encoderTokens: Int
  /// See `encoderTokens`.
  public var vaeTokens: Int
  /// See `encoderTokens`.
  public var decoderTokens: Int
  /// Whether dropout is on (`dropout` > 0): its masks are kept too.
  public var dropout: Bool
  /// Parameters of the transformer's weights (the frozen ones autocast copies to bf16).
  public var transformerParameters: Int

  static func read(config: [String: JSONValue], tensors: [String: [Int]], imageSlots: [String]) -> ACTActivations? {
    let number = LeRobotActivations.number
    guard let width = number(config, "dim_model"), let feedForward = number(config, "dim_feedforward"),
      let heads = number(config, "n_heads"), let chunk = number(config, "chunk_size")
    else { return nil }
    let inputs = config["input_features"]?.objectValue ?? [:]
    let stride = config["replace_final_stride_with_dilation"]?.boolValue == true ? 16 : 32
    let featureTokens = imageSlots.reduce(0) { total, slot in
      let shape =
        inputs[LeRobotCheckpoint.imagePrefix + slot]?.objectValue?["shape"]?.arrayValue?
        .compactMap(\.countValue) ?? []
      // (A hostile image size saturates at 2²⁰ feature-map tokens a side.)
      guard shape.count == 3 else { return total }
      let side = { (size: Int) in min((size + stride - 1) / stride, 1 << 20) }
      return total + side(shape[1]) * side(shape[2])
    }
    let state = inputs["observation.state"] == nil ? 0 : 1
    let environment = inputs["observation.environment_state"] == nil ? 0 : 1
    let vae = config["use_vae"]?.boolValue ?? true
    return ACTActivations(
      width: width, feedForward: feedForward, heads: heads, encoderLayers: number(config, "n_encoder_layers") ?? 4,
      decoderLayers: number(config, "n_decoder_layers") ?? 1,
      vaeLayers: vae ? number(config, "n_vae_encoder_layers") ?? 4 : 0,
      encoderTokens: 1 + state + environment + featureTokens, vaeTokens: 1 + state + chunk, decoderTokens: chunk,
      dropout: (config["dropout"]?.numberValue ?? 0.1) > 0,
      transformerParameters: LeRobotActivations.weightParameters(
        tensors, under: ["model.encoder.layers.", "model.decoder.layers.", "model.vae_encoder.layers."]))
  }

  /// Bytes one sample keeps, fp32 or in bf16 autocast (softmax keeps its fp32 probabilities).
  /// Counted in floating point (`LeRobotActivations.bytesPerSample` saturates it).
  func bytes(bf16: Bool) -> Double {
    let kept: Double = bf16 ? 2 : 4
    let mask: Double = dropout ? 1 : 0
    let (h, f, a) = (Double(width), Double(feedForward), Double(heads))
    // An encoder layer's token: attention (q, k, v; probabilities and mask), two norms, the
    // feed-forward (input, ReLU output, linear2's input) and the masks after it.
    func feedForwardValues(norms: Double) -> Double { norms * h + h + 2 * f + mask * (f + norms * h) }
    func encoderLayer(_ tokens: Double, attends: Bool) -> Double {
      let (values, probabilities) = attends ? (3 * h, (1 + mask) * a * tokens) : (0, 0)
      return tokens * (kept * (values + feedForwardValues(norms: 2)) + 4 * probabilities)
    }
    let e = Double(encoderTokens)
    let d = Double(decoderTokens)
    let vae = Double(vaeTokens)
    let decoderLayer =
      d * (kept * (3 * h + h + feedForwardValues(norms: 3)) + 4 * (1 + mask) * a * (d + e)) + kept * 2 * h * e
    // The VAE encoder's first layer attends over inputs off the gradient path.
    let vaeLayersBytes =
      vaeLayers > 0
      ? encoderLayer(vae, attends: false) + Double(vaeLayers - 1) * encoderLayer(vae, attends: true) : 0
    return vaeLayersBytes + Double(encoderLayers) * encoderLayer(e, attends: true) + Double(decoderLayers)
      * decoderLayer
  }

  /// The bf16 copies autocast keeps of the transformer's frozen weights.
  public var castWeightBytes: Int { 2 * transformerParameters }
}
