import Foundation
import Testing
import VlatuneTestSupport

@testable import VlatuneJobs
@testable import VlatuneSupport

/// The memory estimate's activation term for LeRobot policies: what each family's model reads
/// from `config.json` and the weight headers, and how the estimate uses it. (Its calibration
/// against what the trainer really saves is trainer/tests/test_lerobot_families.py and
/// bench/lerobot_activations.py.)
struct LeRobotActivationsTests {
  /// A LeRobot checkpoint of `type` with `config` (merged over two 64 px cameras, an 8-dim state
  /// and a 7-dim action) and tensors of `shapes`.
  static func checkpoint(
    in directory: URL, type: String, config: String, shapes: [String: [Int]]
  ) throws -> LeRobotCheckpoint {
    let model = directory.appendingPathComponent(type)
    try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
    try """
    {"type": "\(type)", \(config),
     "input_features": {"observation.images.front": {"type": "VISUAL", "shape": [3, 64, 64]},
                        "observation.images.wrist": {"type": "VISUAL", "shape": [3, 64, 96]},
                        "observation.state": {"type": "STATE", "shape": [8]}},
     "output_features": {"action": {"type": "ACTION", "shape": [7]}}}
    """.write(to: model.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
    try MemoryEstimateTests.writeSafetensors(model.appendingPathComponent("model.safetensors"), shapes: shapes)
    return try #require(LeRobotCheckpoint.read(model.path))
  }

  /// The estimate of `checkpoint` at `batch` on one GPU (bf16 autocast) or on the CPU.
  static func estimate(
    _ checkpoint: LeRobotCheckpoint, batch: Int, gpu: Bool, checkpointing: Bool = false,
    precision: String = "auto"
  ) throws -> MemoryEstimate {
    var spec = try JSONDecoder().decode(JobSpec.self, from: Data(MemoryEstimateTests.specJSON.utf8))
    spec.gpus = gpu ? 1 : 0
    spec.hyperparameters.batchSize = batch
    spec.hyperparameters.gradientCheckpointing = checkpointing
    spec.hyperparameters.precision = precision
    return try #require(MemoryEstimate.lerobot(checkpoint, spec: spec, gpuMemoryBytes: nil))
  }

  /// A gated-MLP layer's weights under `prefix` + N.
  static func layers(_ prefix: String, count: Int, hidden: Int, mlp: Int, query: Int, keyValue: Int) -> [String: [Int]]
  {
    var shapes: [String: [Int]] = [:]
    for layer in 0..<count {
      let at = "\(prefix)\(layer)."
      shapes[at + "mlp.gate_proj.weight"] = [mlp, hidden]
      shapes[at + "mlp.up_proj.weight"] = [mlp, hidden]
      shapes[at + "mlp.down_proj.weight"] = [hidden, mlp]
      shapes[at + "self_attn.q_proj.weight"] = [query, hidden]
      shapes[at + "self_attn.k_proj.weight"] = [keyValue, hidden]
      shapes[at + "self_attn.v_proj.weight"] = [keyValue, hidden]
      shapes[at + "self_attn.o_proj.weight"] = [hidden, query]
      shapes[at + "input_layernorm.weight"] = [hidden]
    }
    return shapes
  }

  @Test func piReadsItsStacksAndTokensFromTheWeightsAndConfig() throws {
    let directory = TemporaryDirectory("vlatune-activations")
    let paligemma = "model.paligemma_with_expert.paligemma.model."
    var shapes = Self.layers(
      paligemma + "language_model.layers.", count: 2, hidden: 64, mlp: 128, query: 64, keyValue: 8)
    shapes.merge(
      Self.layers(
        "model.paligemma_with_expert.gemma_expert.model.layers.", count: 2, hidden: 32, mlp: 64, query: 64, keyValue: 8)
    ) { $1 }
    shapes[paligemma + "vision_tower.vision_model.embeddings.position_embedding.weight"] = [16, 32]
    let config = #""chunk_size": 8, "tokenizer_max_length": 12, "gradient_checkpointing": false"#
    let pi0 = try Self.checkpoint(in: directory.url, type: "pi0", config: config, shapes: shapes)
    let activations = try #require(pi0.activations)
    guard case .vla(let model) = activations else {
      Issue.record("pi0 is a VLA")
      return
    }
    #expect(model.vlm.layers == 2 && model.vlm.hidden == 64 && model.vlm.intermediate == 128)
    #expect(model.expert.hidden == 32 && model.expert.keyValue == 8)
    // Two cameras × 16 patches + the prompt; the chunk + pi0's state token.
    #expect(model.prefixTokens == 2 * 16 + 12 && model.suffixTokens == 9)
    // Every frozen projection of both stacks is copied to bf16 once.
    #expect(
      model.castWeightBytes == 2 * 2
        * (3 * 64 * 128 + 2 * 64 * 64 + 2 * 8 * 64 + 3 * 32 * 64 + 2 * 64 * 32 + 2 * 8 * 32))
    // openpi-converted files name the tensors without the policy's `model.`: read the same.
    let unprefixed = try Self.checkpoint(
      in: directory.url.appendingPathComponent("openpi"), type: "pi0", config: config,
      shapes: Dictionary(uniqueKeysWithValues: shapes.map { (String($0.key.dropFirst("model.".count)), $0.value) }))
    #expect(unprefixed.activations == pi0.activations)
    let pi05 = try Self.checkpoint(in: directory.url, type: "pi05", config: config, shapes: shapes)
    guard case .vla(let other) = try #require(pi05.activations) else { return }
    #expect(other.suffixTokens == 8, "pi0.5 has no state token")

    let cpu = try Self.estimate(pi0, batch: 4, gpu: false)
    let perSample = activations.bytesPerSample(bf16: false, checkpointing: false)
    let bf16PerSample = activations.bytesPerSample(bf16: true, checkpointing: false)
    #expect(cpu.activationBytes == 4 * perSample, "fp32 on the CPU, linear in the batch")
    #expect(cpu.totalBytes == cpu.weightBytes + cpu.trainableStateBytes + cpu.activationBytes)
    let gpu = try Self.estimate(pi0, batch: 4, gpu: true)
    #expect(gpu.activationBytes == 4 * bf16PerSample + model.castWeightBytes)
    #expect(bf16PerSample < perSample)
    // fp16 and fp32 train without autocast: fp32 activations, no copies.
    #expect(try Self.estimate(pi0, batch: 4, gpu: true, precision: "fp16").activationBytes == cpu.activationBytes)
    let checkpointed = try Self.estimate(pi0, batch: 4, gpu: false, checkpointing: true)
    #expect(checkpointed.activationBytes < cpu.activationBytes)
    // Checkpointed, the weight copies live only while one layer is recomputed.
    let both = try Self.estimate(pi0, batch: 4, gpu: true, checkpointing: true)
    #expect(both.activationBytes == 4 * activations.bytesPerSample(bf16: true, checkpointing: true))
    // LeRobot's `dtype: bfloat16`: bf16 weights (the norms in fp32), bf16 activations, no copies.
    let bf16Weights = try Self.checkpoint(
      in: directory.url.appendingPathComponent("bf16"), type: "pi0", config: config + #", "dtype": "bfloat16""#,
      shapes: shapes)
    let onCPU = try Self.estimate(bf16Weights, batch: 4, gpu: false)
    #expect(onCPU.activationBytes == 4 * bf16PerSample)
    let keptInFP32 = 2 * 64 + 2 * 32 + 16 * 32  // the norms and the vision tower's embedding
    #expect(onCPU.weightBytes == 2 * onCPU.parameters + 2 * keptInFP32)
    #expect(try Self.estimate(bf16Weights, batch: 4, gpu: true).activationBytes == 4 * bf16PerSample)
  }

  @Test func smolVLATakesHeadsAndPixelShuffleFromItsBackbone() throws {
    let directory = TemporaryDirectory("vlatune-activations")
    let backbone = directory.url.appendingPathComponent("vlm")
    try FileManager.default.createDirectory(at: backbone, withIntermediateDirectories: true)
    try #"{"text_config": {"num_attention_heads": 4}, "scale_factor": 2}"#
      .write(to: backbone.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
    let vlm = "model.vlm_with_expert.vlm.model."
    var shapes = Self.layers(vlm + "text_model.layers.", count: 2, hidden: 64, mlp: 128, query: 64, keyValue: 32)
    shapes.merge(
      Self.layers("model.vlm_with_expert.lm_expert.layers.", count: 2, hidden: 48, mlp: 256, query: 64, keyValue: 32)
    ) { $1 }
    shapes[vlm + "vision_model.embeddings.position_embedding.weight"] = [16, 32]
    let config =
      #""chunk_size": 8, "tokenizer_max_length": 16, "self_attn_every_n_layers": 2, "vlm_model_name": "\#(backbone.path)""#
    let smolvla = try Self.checkpoint(in: directory.url, type: "smolvla", config: config, shapes: shapes)
    guard case .vla(let model) = try #require(smolvla.activations) else {
      Issue.record("SmolVLA is a VLA")
      return
    }
    // 16 patches an image merged 2 × 2: 4 tokens a camera; the prompt; the state token.
    #expect(model.heads == 4 && model.prefixTokens == 2 * 4 + 16 + 1 && model.suffixTokens == 8)
    #expect(model.jointEvery == 2)
  }

  @Test func actCountsItsThreeTransformersTokens() throws {
    let directory = TemporaryDirectory("vlatune-activations")
    var shapes: [String: [Int]] = [:]
    for stack in ["encoder", "vae_encoder"] {
      shapes["model.\(stack).layers.0.self_attn.in_proj_weight"] = [48, 16]
      shapes["model.\(stack).layers.0.linear1.weight"] = [32, 16]
    }
    shapes["model.decoder.layers.0.linear1.weight"] = [32, 16]
    shapes["model.backbone.conv1.weight"] = [8, 3, 7, 7]
    let config = """
      "dim_model": 16, "dim_feedforward": 32, "n_heads": 2, "n_encoder_layers": 1,
      "n_decoder_layers": 1, "n_vae_encoder_layers": 2, "chunk_size": 10, "dropout": 0.1,
      "use_vae": true, "replace_final_stride_with_dilation": false
      """
    let act = try Self.checkpoint(in: directory.url, type: "act", config: config, shapes: shapes)
    guard case .act(let model) = try #require(act.activations) else {
      Issue.record("ACT has its own model")
      return
    }
    // The latent, the state, and the cameras' feature maps at stride 32: 2 × 2 and 2 × 3.
    #expect(model.encoderTokens == 1 + 1 + 4 + 6)
    #expect(model.vaeTokens == 1 + 1 + 10 && model.decoderTokens == 10 && model.vaeLayers == 2)
    // The transformer's weights, not the backbone's.
    #expect(model.castWeightBytes == 2 * (48 * 16 * 2 + 32 * 16 * 3))
    let dropless = try Self.checkpoint(
      in: directory.url.appendingPathComponent("dropless"), type: "act",
      config: config.replacingOccurrences(of: "\"dropout\": 0.1", with: "\"dropout\": 0.0"), shapes: shapes)
    guard case .act(let without) = try #require(dropless.activations) else { return }
    #expect(
      LeRobotActivations.act(without).bytesPerSample(bf16: false, checkpointing: false)
        < LeRobotActivations.act(model).bytesPerSample(bf16: false, checkpointing: false), "no dropout masks")
    let small = try Self.estimate(act, batch: 2, gpu: true)
    let large = try Self.estimate(act, batch: 6, gpu: true)
    #expect(
      large.activationBytes - small.activationBytes
        == 4 * LeRobotActivations.act(model).bytesPerSample(bf16: true, checkpointing: false))
  }

  @Test func diffusionWalksTheUNetLevels() throws {
    let directory = TemporaryDirectory("vlatune-activations")
    let unet = "diffusion.unet."
    let shapes: [String: [Int]] = [
      unet + "down_modules.0.0.conv1.block.0.weight": [8, 7, 5],
      unet + "down_modules.0.0.cond_encoder.1.weight": [16, 40],
      unet + "down_modules.1.0.conv1.block.0.weight": [16, 8, 5],
      unet + "mid_modules.0.conv1.block.0.weight": [16, 16, 5],
      unet + "up_modules.0.0.conv1.block.0.weight": [8, 32, 5],
      unet + "final_conv.0.block.0.weight": [8, 8, 5],
      "diffusion.rgb_encoder.backbone.conv1.weight": [8, 3, 7, 7],
    ]
    let config = #""horizon": 16, "down_dims": [8, 16], "gradient_checkpointing": false"#
    let diffusion = try Self.checkpoint(in: directory.url, type: "diffusion", config: config, shapes: shapes)
    guard case .unet(let model) = try #require(diffusion.activations) else {
      Issue.record("diffusion has its own model")
      return
    }
    // Level 0 at 16 positions; level 1, the middle and the first level up at 8 (it upsamples
    // after); the final conv at 16.
    #expect(model.blockValues == 8 * 16 + 16 * 8 + 16 * 8 + 8 * 8 + 8 * 16)
    #expect(model.blockInputs == 7 * 16 + 8 * 8 + 16 * 8 + 32 * 8 + 8 * 16)
    #expect(model.conditioning == 40)
    #expect(model.castWeightBytes == 2 * (8 * 7 * 5 + 16 * 40 + 16 * 8 * 5 + 16 * 16 * 5 + 8 * 32 * 5 + 8 * 8 * 5))
    let activations = LeRobotActivations.unet(model)
    #expect(
      activations.bytesPerSample(bf16: false, checkpointing: true)
        < activations.bytesPerSample(bf16: false, checkpointing: false))
  }

  @Test func grootHasNoActivationTerm() throws {
    let directory = TemporaryDirectory("vlatune-activations")
    let groot = try Self.checkpoint(
      in: directory.url, type: "groot", config: #""base_model_path": "/nonexistent""#,
      shapes: ["_groot_model.action_head.model.transformer_blocks.0.attn1.to_q.weight": [16, 16]])
    #expect(groot.activations == nil)
    #expect(try Self.estimate(groot, batch: 8, gpu: true).activationBytes == 0)
  }

  @Test func hostileSizesNeitherTrapNorOverflow() throws {
    let directory = TemporaryDirectory("vlatune-activations")
    let model = directory.url.appendingPathComponent("pi0")
    try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
    // A header only (the reader never reads the data): layers of 2²⁰ × 2²⁰ weights, 2²⁰ tokens
    // an image, and tensors no checkpoint has (a 1e300 and a fractional dimension; 2⁶⁰ elements).
    let paligemma = "model.paligemma_with_expert.paligemma.model."
    let wide = 1 << 20
    var shapes = Self.layers(
      paligemma + "language_model.layers.", count: 2, hidden: wide, mlp: wide, query: wide, keyValue: wide)
    shapes.merge(
      Self.layers(
        "model.paligemma_with_expert.gemma_expert.model.layers.", count: 2, hidden: wide, mlp: wide, query: wide,
        keyValue: wide)
    ) { $1 }
    shapes[paligemma + "vision_tower.vision_model.embeddings.position_embedding.weight"] = [wide, 1]
    shapes["model.huge.weight"] = [1 << 30, 1 << 30]
    var entries = shapes.map { name, shape in
      "\"\(name)\":{\"dtype\":\"F32\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],"
        + "\"data_offsets\":[0,0]}"
    }
    entries.append(#""model.absurd.weight":{"dtype":"F32","shape":[1e300, 2.5],"data_offsets":[0,0]}"#)
    let header = Array("{\(entries.joined(separator: ","))}".utf8)
    var data = Data(withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) })
    data.append(contentsOf: header)
    try data.write(to: model.appendingPathComponent("model.safetensors"))
    try """
    {"type": "pi0", "chunk_size": 1e300, "tokenizer_max_length": 1048576, "max_state_dim": -3,
     "input_features": {"observation.images.front": {"type": "VISUAL", "shape": [3, 1e300, -4]},
                        "observation.state": {"type": "STATE", "shape": [1e300]}},
     "output_features": {"action": {"type": "ACTION", "shape": [7]}}}
    """.write(to: model.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
    let checkpoint = try #require(LeRobotCheckpoint.read(model.path))
    #expect(checkpoint.tensors["model.huge.weight"] == nil && checkpoint.tensors["model.absurd.weight"] == nil)
    #expect(checkpoint.stateDim == nil && checkpoint.maxStateDim == nil, "1e300 and -3 are no sizes")
    let estimate = try Self.estimate(checkpoint, batch: 4096, gpu: true)
    #expect(estimate.activationBytes >= 4096 * LeRobotActivations.saturated)
    #expect(estimate.totalBytes > estimate.activationBytes)
  }
}
