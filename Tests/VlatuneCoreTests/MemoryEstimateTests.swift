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

/// The memory estimate: exact parameter counts from safetensors headers, the shape numbers from
/// `config.json`, and how batch size and gradient checkpointing move the peak.
struct MemoryEstimateTests {
  /// Writes a safetensors file whose header declares `shapes` (data zero-filled).
  static func writeSafetensors(_ url: URL, shapes: [String: [Int]]) throws {
    var offset = 0
    var entries: [String] = []
    for (name, shape) in shapes.sorted(by: { $0.key < $1.key }) {
      let bytes = shape.reduce(4, *)
      entries.append(
        "\"\(name)\":{\"dtype\":\"F32\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],"
          + "\"data_offsets\":[\(offset),\(offset + bytes)]}")
      offset += bytes
    }
    let header = Array("{\"__metadata__\":{\"format\":\"pt\"},\(entries.joined(separator: ","))}".utf8)
    var data = Data(withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) })
    data.append(contentsOf: header)
    data.append(Data(count: offset))
    try data.write(to: url)
  }

  static func checkpoint(in directory: URL) throws -> URL {
    let model = directory.appendingPathComponent("tiny-llava")
    try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
    try """
    {"architectures": ["LlavaForConditionalGeneration"],
     "text_config": {"hidden_size": 64, "num_hidden_layers": 2, "intermediate_size": 128,
                     "vocab_size": 281},
     "vision_config": {"hidden_size": 32, "num_hidden_layers": 2, "image_size": 32, "patch_size": 8}}
    """.write(to: model.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
    try writeSafetensors(
      model.appendingPathComponent("model-00001-of-00002.safetensors"),
      shapes: ["a.weight": [64, 32], "a.bias": [64]])
    try writeSafetensors(
      model.appendingPathComponent("model-00002-of-00002.safetensors"), shapes: ["b.weight": [281, 64]])
    return model
  }

  @Test func countsParametersExactlyFromSafetensorsHeadersAndReadsTheConfig() throws {
    let directory = TemporaryDirectory("vlatune-memory")
    let model = try Self.checkpoint(in: directory.url)
    #expect(MemoryEstimate.safetensorsParameters(in: model) == 64 * 32 + 64 + 281 * 64)
    let architecture = try #require(MemoryEstimate.architecture(of: model.path))
    #expect(architecture.hidden == 64)
    #expect(architecture.layers == 4)
    #expect(architecture.vocabulary == 281)
    #expect(architecture.sequence == 16 + 64)
  }

  @Test func unreadableBaseModelsHaveNoEstimate() throws {
    let directory = TemporaryDirectory("vlatune-memory")
    #expect(MemoryEstimate.architecture(of: directory.url.path) == nil)
    try "{\"hidden_size\": 8}".write(
      to: directory.url.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
    #expect(MemoryEstimate.architecture(of: directory.url.path) == nil, "no weights: no count")
  }

  @Test func theBuiltInTinyVLACountMatchesTheCommittedBase() throws {
    let assets = TestPaths.repository.appendingPathComponent("trainer/vlatune_trainer/assets/tiny-vla")
    try #require(FileManager.default.fileExists(atPath: assets.appendingPathComponent("model.safetensors").path))
    #expect(MemoryEstimate.safetensorsParameters(in: assets) == MemoryEstimate.tinyVLA.parameters)
  }

  @Test func batchSizeGrowsAndCheckpointingShrinksActivations() throws {
    let directory = TemporaryDirectory("vlatune-memory")
    let model = try Self.checkpoint(in: directory.url)
    func estimate(batch: Int, checkpointing: Bool) throws -> MemoryEstimate {
      var spec = try JSONDecoder().decode(JobSpec.self, from: Data(Self.specJSON.utf8))
      spec.baseModel = model.path
      spec.hyperparameters.batchSize = batch
      spec.hyperparameters.gradientCheckpointing = checkpointing
      return try #require(MemoryEstimate.estimate(spec: spec, gpuMemoryBytes: 1 << 30))
    }
    let small = try estimate(batch: 8, checkpointing: false)
    let large = try estimate(batch: 64, checkpointing: false)
    let checkpointed = try estimate(batch: 64, checkpointing: true)
    #expect(large.activationBytes > 7 * small.activationBytes)
    #expect(checkpointed.activationBytes < large.activationBytes)
    #expect(small.weightBytes == small.parameters * 2, "bf16 weights on a GPU")
    #expect(
      small.totalBytes == small.weightBytes + small.trainableStateBytes + small.activationBytes + small.overheadBytes)
    let huge = try estimate(batch: 100_000, checkpointing: false)
    #expect(small.fits)
    #expect(!huge.fits)
  }

  static let specJSON = """
    {"schema_version": 1, "job_id": "job_x", "created_at": "2026-01-01T00:00:00Z", "base_model": "tiny-vla",
     "dataset": {"id": "ds_x", "name": "x", "path": "/x", "fingerprint": "sha256:0", "statistics": "/x/s"},
     "hyperparameters": {"lora_rank": 8, "lora_alpha": 16, "lora_dropout": 0, "learning_rate": 0.001,
       "batch_size": 8, "grad_accum": 1, "effective_batch_size": 8, "max_steps": 10, "seed": 1,
       "action_chunk": 1, "proprio": "all", "precision": "auto", "checkpoint_interval": 5,
       "target_modules": ["all-linear"]},
     "gpus": 1, "executor": "local", "job_dir": "/j", "output_dir": "/j/o", "checkpoints_dir": "/j/c",
     "events_path": "/j/e", "trainer": {"argv": ["t"], "environment": {}}, "metadata": {},
     "max_running_jobs": 2}
    """
}
