import Foundation
import VlatuneSupport

/// What one training sample of a LeRobot VLA (SmolVLA, pi0, pi0.5) keeps for its backward pass. These policies run a VLM and an action expert side by side; LoRA on
/// the expert and on the state projection puts every layer of both on the gradient path (their
/// attention is joint), so each layer keeps its norms' inputs (2 × hidden a token), its gated
/// MLP's three intermediates (3 × MLP width), its queries, keys and values, and the attention
/// probabilities (heads × tokens × attended tokens). Widths and layer counts come from the
/// weight files' headers, tokens from `config.json` (images × tokens an image + the prompt's
/// `tokenizer_max_length` + the state token; the expert's `chunk_size` actions), so the count
/// is an upper bound where the prompt is padded only to the batch's longest. In bf16 autocast
/// the MLP and projections keep bf16, norms and softmax fp32 (pi's attention keeps a bf16 copy
/// of its probabilities too), and every frozen weight on the gradient path is kept once more as
/// the bf16 copy its matmul saves. Calibrated against the tensors autograd saves
/// (`bench/lerobot_activations.py`; docs/trainer.md).
public struct VLAActivations: Sendable, Equatable {
  /// One transformer stack: its layers and widths (from layer 0's projections).
  public struct Stack: Sendable, Equatable {
    /// Transformer layers.
    public var layers: Int
    /// Hidden width.
    public var hidden: Int
    /// Gated MLP width.
    public var intermediate: Int
    /// Query projection width (heads × head size).
    public var query: Int
    /// Key (and value) projection width.
    public var keyValue: Int
    /// Parameters of the stack's projections (the weights autocast copies to bf16).
    public var projectionParameters: Int
  }

  /// The VLM's language model.
  public var vlm: Stack
  /// The action expert.
  public var expert: Stack
  /// Attention heads of both.
  public var heads: Int
  /// Prefix tokens a sample: images, prompt, and SmolVLA's state token.
  public var prefixTokens: Int
  /// Expert tokens a sample: the action chunk, and pi0's state token.
  public var suffixTokens: Int
  /// Every how many layers prefix and suffix attend jointly (SmolVLA's
  /// `self_attn_every_n_layers`; the other layers' expert cross-attends to the prefix); 1 for pi.
  public var jointEvery: Int
  /// Bytes a bf16-autocast attention probability keeps (pi's attention keeps fp32 and bf16).
  public var probabilityBytes: Int

  /// The activations of a `smolvla`, `pi0` or `pi05` checkpoint, or `nil` for another type or a
  /// checkpoint missing a stack.
  static func read(
    type: String, config: [String: JSONValue], tensors: [String: [Int]], imageSlots: Int,
    backboneConfig: [String: JSONValue]?
  ) -> VLAActivations? {
    let number = LeRobotActivations.number
    // Checkpoints converted from openpi may name their tensors without the policy's `model.`
    // (LeRobot's loader adds it); both spellings are read.
    func stack(_ prefix: String) -> Stack? {
      Self.stack(tensors, "model." + prefix) ?? Self.stack(tensors, prefix)
    }
    func first(_ name: String) -> Int? { (tensors["model." + name] ?? tensors[name])?.first }
    let prompt = number(config, "tokenizer_max_length") ?? 48
    let chunk = number(config, "chunk_size") ?? 50
    switch type {
    case "smolvla":
      guard let vlm = stack("vlm_with_expert.vlm.model.text_model.layers."),
        let expert = stack("vlm_with_expert.lm_expert.layers.")
      else { return nil }
      let text = backboneConfig?["text_config"]?.objectValue
      // SmolVLM's pixel shuffle merges scale_factor² patches into one token.
      let scale = min(number(backboneConfig, "scale_factor") ?? 4, 1 << 10)
      let patches = first("vlm_with_expert.vlm.model.vision_model.embeddings.position_embedding.weight") ?? 1024
      return VLAActivations(
        vlm: vlm, expert: expert, heads: number(text, "num_attention_heads") ?? max(vlm.query / 64, 1),
        prefixTokens: imageSlots * patches / max(scale * scale, 1) + prompt + 1, suffixTokens: chunk,
        jointEvery: max(number(config, "self_attn_every_n_layers") ?? 2, 1), probabilityBytes: 4)
    case "pi0", "pi05":
      guard let vlm = stack("paligemma_with_expert.paligemma.model.language_model.layers."),
        let expert = stack("paligemma_with_expert.gemma_expert.model.layers.")
      else { return nil }
      let patches =
        first("paligemma_with_expert.paligemma.model.vision_tower.vision_model.embeddings.position_embedding.weight")
        ?? 256
      // Gemma 2B and 300M (LeRobot's variants) both have 8 attention heads.
      return VLAActivations(
        vlm: vlm, expert: expert, heads: 8, prefixTokens: imageSlots * patches + prompt,
        suffixTokens: chunk + (type == "pi0" ? 1 : 0), jointEvery: 1, probabilityBytes: 6)
    default:
      return nil
    }
  }

  /// The stack whose layers are `prefix` + N, from layer 0's gated-MLP and attention projections.
  static func stack(_ tensors: [String: [Int]], _ prefix: String) -> Stack? {
    guard let gate = tensors[prefix + "0.mlp.gate_proj.weight"], gate.count == 2,
      let query = tensors[prefix + "0.self_attn.q_proj.weight"]?.first,
      let keyValue = tensors[prefix + "0.self_attn.k_proj.weight"]?.first
    else { return nil }
    var layers = Set<Substring>()
    var parameters = 0
    for (name, shape) in tensors where name.hasPrefix(prefix) {
      let rest = name.dropFirst(prefix.count)
      if let dot = rest.firstIndex(of: ".") { layers.insert(rest[..<dot]) }
      if name.hasSuffix("_proj.weight") { parameters += shape.reduce(1, *) }
    }
    return Stack(
      layers: layers.count, hidden: gate[1], intermediate: gate[0], query: query, keyValue: keyValue,
      projectionParameters: parameters)
  }

  /// Bytes one sample keeps: fp32, or in bf16 (`bf16`); with gradient checkpointing only each
  /// layer's input (fp32) and one layer's full set. Counted in floating point
  /// (`LeRobotActivations.bytesPerSample` saturates it).
  func bytes(bf16: Bool, checkpointing: Bool) -> Double {
    let (kept, full): (Double, Double) = bf16 ? (2, 4) : (4, 4)
    let probability = Double(bf16 ? probabilityBytes : 4)
    let prefix = Double(prefixTokens)
    let suffix = Double(suffixTokens)
    let heads = Double(heads)
    func mlp(_ stack: Stack, _ tokens: Double) -> Double {
      tokens * (full * 2 * Double(stack.hidden) + kept * 3 * Double(stack.intermediate))
    }
    let vlmProjections = prefix * Double(vlm.query + 2 * vlm.keyValue)
    // SmolVLA with fewer expert layers pairs one with every `vlm.layers / expert.layers`-th.
    let expertEvery = max(vlm.layers / max(expert.layers, 1), 1)
    func layer(_ index: Int) -> Double {
      guard index % expertEvery == 0 else {
        return mlp(vlm, prefix) + probability * heads * prefix * prefix + kept * vlmProjections
      }
      if index % jointEvery == 0 {
        let tokens = prefix + suffix
        return mlp(vlm, prefix) + mlp(expert, suffix) + probability * heads * tokens * tokens
          + kept * (vlmProjections + suffix * Double(expert.query + 2 * expert.keyValue))
      }
      return mlp(vlm, prefix) + mlp(expert, suffix) + probability * heads * (prefix * prefix + suffix * prefix)
        + kept * (vlmProjections + suffix * Double(expert.query) + prefix * 2 * Double(expert.keyValue))
    }
    if checkpointing {
      let inputs = Double(vlm.layers) * 4 * (prefix * Double(vlm.hidden) + suffix * Double(expert.hidden))
      return inputs + layer(0)
    }
    return (0..<vlm.layers).reduce(0) { $0 + layer($1) }
  }

  /// The bf16 copies autocast keeps of the frozen projections on the gradient path.
  public var castWeightBytes: Int { 2 * (vlm.projectionParameters + expert.projectionParameters) }
}
