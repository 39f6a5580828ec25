import Foundation
import Testing
import VlatuneTestSupport

@testable import VlatuneArchive
@testable import VlatuneCore
@testable import VlatuneDatasets
@testable import VlatuneFormats
@testable import VlatuneGuardrails
@testable import VlatuneJobs
@testable import VlatuneStore
@testable import VlatuneSupport

/// What `job start` reads from a LeRobot checkpoint: slots, sizes, module paths, LoRA counts.
/// (trainer/tests/test_lerobot_families.py checks the same against real checkpoints and the
/// trainer's own counts.)
struct LeRobotCheckpointTests {
  static func checkpoint(in directory: URL, type: String = "act") throws -> URL {
    let model = directory.appendingPathComponent(type)
    try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
    try """
    {"type": "\(type)", "max_state_dim": 6, "max_action_dim": 6,
     "input_features": {"observation.images.top": {"type": "VISUAL", "shape": [3, 64, 64]},
                        "observation.images.wrist": {"type": "VISUAL", "shape": [3, 64, 64]},
                        "observation.state": {"type": "STATE", "shape": [8]}},
     "output_features": {"action": {"type": "ACTION", "shape": [7]}}}
    """.write(to: model.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
    try MemoryEstimateTests.writeSafetensors(
      model.appendingPathComponent("model.safetensors"),
      shapes: [
        "model.encoder.layers.0.linear1.weight": [32, 16], "model.encoder.layers.0.linear1.bias": [32],
        "model.encoder.layers.0.linear2.weight": [16, 32], "model.action_head.weight": [7, 16],
        "model.encoder.layers.0.norm1.weight": [16], "model.backbone.conv1.weight": [8, 3, 7, 7],
      ])
    return model
  }

  @Test func readsSlotsSizesAndModulePaths() throws {
    let directory = TemporaryDirectory("vlatune-lerobot")
    let checkpoint = try #require(LeRobotCheckpoint.read(try Self.checkpoint(in: directory.url).path))
    #expect(checkpoint.type == "act")
    #expect(checkpoint.imageSlots == ["top", "wrist"])
    #expect(checkpoint.stateDim == 8 && checkpoint.actionDim == 7)
    #expect(checkpoint.modules.contains("model.encoder.layers.0.linear1"))
    #expect(LeRobotCheckpoint.read(directory.url.path) == nil)
  }

  @Test func everySlotNeedsACameraAndTheMapMustNameRealOnes() throws {
    let directory = TemporaryDirectory("vlatune-lerobot")
    let checkpoint = try #require(LeRobotCheckpoint.read(try Self.checkpoint(in: directory.url).path))
    let cameras = ["front", "wrist"]
    let unmapped = try #require(checkpoint.cameraProblem(available: cameras, imageMap: [:]))
    #expect(unmapped.param == "image_map")
    #expect(unmapped.message.contains("slot 'top'") && unmapped.message.contains("cameras: front, wrist"))
    #expect(checkpoint.cameraProblem(available: cameras, imageMap: ["top": "front"]) == nil)
    #expect(checkpoint.cameraProblem(available: cameras, imageMap: ["observation.images.top": "front"]) == nil)
    let camera = try #require(checkpoint.cameraProblem(available: cameras, imageMap: ["top": "side"]))
    #expect(camera.message.contains("camera 'side'"))
    let slot = try #require(checkpoint.cameraProblem(available: cameras, imageMap: ["top": "front", "left": "wrist"]))
    #expect(slot.message.contains("slot 'left'"))
  }

  @Test func sizesAreEqualForACTAndBoundedForPaddingFamilies() throws {
    let directory = TemporaryDirectory("vlatune-lerobot")
    let act = try #require(LeRobotCheckpoint.read(try Self.checkpoint(in: directory.url).path))
    #expect(act.dimensionProblems(stateDim: 8, actionDim: 7).isEmpty)
    #expect(act.dimensionProblems(stateDim: 6, actionDim: 9).map(\.param) == ["proprio", "dataset"])
    // The fixture's config.json has no gradient_checkpointing field: ACT has none.
    #expect(act.gradientCheckpointingProblem(requested: true)?.param == "gradient_checkpointing")
    #expect(act.gradientCheckpointingProblem(requested: false) == nil)
    let smolvla = try #require(
      LeRobotCheckpoint.read(try Self.checkpoint(in: directory.url, type: "smolvla").path))
    #expect(smolvla.dimensionProblems(stateDim: 6, actionDim: 2).isEmpty)
    let problems = smolvla.dimensionProblems(stateDim: 8, actionDim: 7)
    #expect(problems.map(\.param) == ["proprio", "dataset"])
    #expect(problems[0].message.contains("at most 6"))
  }

  @Test func targetsFollowPEFTsSuffixRuleAndLoRACountsTheWrappedWeights() throws {
    let directory = TemporaryDirectory("vlatune-lerobot")
    let model = try Self.checkpoint(in: directory.url)
    let checkpoint = try #require(LeRobotCheckpoint.read(model.path))
    #expect(checkpoint.unmatchedTargets(["linear1", "action_head", "missing"]) == ["missing"])
    #expect(checkpoint.unmatchedTargets(["ear1"]) == ["ear1"])
    #expect(checkpoint.unmatchedTargets(["all-linear"]).isEmpty)
    let tensors = MemoryEstimate.safetensorsTensors(in: model)
    // The ACT defaults: linear1, linear2 and action_head; r × (in + out) each.
    #expect(
      checkpoint.loraParameters(tensors: tensors, rank: 4, targets: ["all-linear"])
        == 4 * (16 + 32) + 4 * (32 + 16) + 4 * (16 + 7))
    // A convolution [out, in, k, k]: r × (in × k × k + out).
    #expect(checkpoint.loraParameters(tensors: tensors, rank: 2, targets: ["conv1"]) == 2 * (3 * 49 + 8))
  }

  /// A groot checkpoint naming its raw GR00T N1.7 base (`base_model_path`): a directory, or a
  /// hub id found through the cache's `refs/main`; config-only, it counts the base's tensors
  /// under the policy's `_groot_model.` prefix.
  @Test func grootResolvesItsBaseAndProcessorOrNamesThem() throws {
    let directory = TemporaryDirectory("vlatune-lerobot")
    let root = directory.url
    let backbone = root.appendingPathComponent("backbone")
    let base = root.appendingPathComponent("base")
    let policy = root.appendingPathComponent("policy")
    for folder in [backbone, base, policy] {
      try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    for name in ["tokenizer_config.json", "preprocessor_config.json"] {
      try "{}".write(to: backbone.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }
    try #"{"model_type": "Gr00tN1d7", "model_name": "\#(backbone.path)"}"#
      .write(to: base.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
    try MemoryEstimateTests.writeSafetensors(
      base.appendingPathComponent("model.safetensors"),
      shapes: [
        "action_head.model.transformer_blocks.0.attn1.to_q.weight": [16, 16],
        "action_head.model.transformer_blocks.0.ff.net.0.proj.weight": [64, 16],
      ])
    func write(base path: String) throws {
      try """
      {"type": "groot", "base_model_path": "\(path)", "max_state_dim": 16, "max_action_dim": 16,
       "input_features": {"observation.images.front": {"type": "VISUAL", "shape": [3, 64, 64]}},
       "output_features": {"action": {"type": "ACTION", "shape": [7]}}}
      """.write(to: policy.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
    }
    let empty = ["HF_HOME": root.appendingPathComponent("empty").path]
    try write(base: base.path)
    let local = try #require(LeRobotCheckpoint.read(policy.path, environment: empty))
    #expect(local.grootBaseDirectory == base.path && local.grootBaseProblem(environment: empty) == nil)
    #expect(local.backbone == backbone.path && local.backboneProblem(tokenizer: nil, environment: empty) == nil)
    #expect(local.modules.contains("_groot_model.action_head.model.transformer_blocks.0.attn1.to_q"))
    // The DiT's attention only (not its feed-forward): r × (16 + 16).
    #expect(local.loraParameters(tensors: local.tensors, rank: 4, targets: ["all-linear"]) == 4 * 32)
    #expect(local.dimensionProblems(stateDim: 0, actionDim: 7).map(\.param) == ["proprio"])
    // A relative base_model_path is read from the checkpoint's directory.
    try write(base: "../base")
    let relative = try #require(LeRobotCheckpoint.read(policy.path, environment: empty))
    #expect(relative.grootBaseDirectory.map { ($0 as NSString).standardizingPath } == base.path)
    #expect(local.dimensionProblems(stateDim: 17, actionDim: 7).first?.message.contains("at most 16") == true)

    // A hub id: found only where refs/main names a snapshot with config.json.
    try write(base: "nvidia/GR00T-N1.7-3B")
    let missing = try #require(LeRobotCheckpoint.read(policy.path, environment: empty))
    let problem = try #require(missing.grootBaseProblem(environment: empty))
    #expect(problem.param == "base_model" && problem.message.contains("nvidia/GR00T-N1.7-3B"))
    #expect(problem.message.contains(root.appendingPathComponent("empty/hub").path))
    let hub = root.appendingPathComponent("hf/hub/models--nvidia--GR00T-N1.7-3B")
    try FileManager.default.createDirectory(
      at: hub.appendingPathComponent("refs"), withIntermediateDirectories: true)
    try FileManager.default.copyItem(at: base, to: hub.appendingPathComponent("snapshots/abc"))
    let cache = ["HF_HOME": root.appendingPathComponent("hf").path]
    #expect(LeRobotCheckpoint.read(policy.path, environment: cache)?.grootBaseDirectory == nil)
    try "abc\n".write(to: hub.appendingPathComponent("refs/main"), atomically: true, encoding: .utf8)
    let cached = try #require(LeRobotCheckpoint.read(policy.path, environment: cache))
    #expect(cached.grootBaseDirectory == hub.appendingPathComponent("snapshots/abc").path)
    #expect(cached.tensors.count == 2)

    // A base whose backbone is a hub id: LeRobot's processor loads Cosmos-Reason2-2B's files.
    try #"{"model_type": "Gr00tN1d7", "model_name": "nvidia/Cosmos-Reason2-2B"}"#
      .write(to: base.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
    try write(base: base.path)
    let remote = try #require(LeRobotCheckpoint.read(policy.path, environment: empty))
    #expect(remote.backbone == LeRobotCheckpoint.grootProcessor)
    let named = try #require(remote.backboneProblem(tokenizer: nil, environment: empty))
    #expect(named.param == "tokenizer" && named.message.contains("nvidia/Cosmos-Reason2-2B"))
    #expect(remote.backboneProblem(tokenizer: backbone.path, environment: empty) == nil)
    let wrong = try #require(remote.backboneProblem(tokenizer: root.path, environment: empty))
    #expect(wrong.message.contains("preprocessor_config.json"))
  }
}
