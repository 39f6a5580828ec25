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
}
