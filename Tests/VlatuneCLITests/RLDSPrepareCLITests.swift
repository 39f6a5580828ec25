import Foundation
import Testing
import VlatuneTestSupport

/// `vlatune dataset prepare` on RLDS / TFDS datasets: generated ones (every value checked
/// against the generator's own protobuf decoding), the real Bridge debug set, and broken ones.
@Suite(.enabled(if: DatasetFixture.available), .serialized)
struct RLDSPrepareCLITests {
  let directory = TemporaryDirectory("vlatune-rlds-cli")
  var vlatune: VlatuneRunner { VlatuneRunner(home: directory.appending("home")) }

  private func prepare(_ arguments: [String]) throws -> (status: Int32, document: [String: Any], text: String) {
    let result = try vlatune.run(["dataset", "prepare"] + arguments + ["--json"])
    return ((result.status), (try? result.json()) ?? [:], result.standardError)
  }

  private func findings(_ document: [String: Any]) -> [[String: Any]] {
    (document["error"] as? [String: Any])?["findings"] as? [[String: Any]] ?? []
  }

  private func message(_ document: [String: Any]) -> String {
    (document["error"] as? [String: Any])?["message"] as? String ?? ""
  }

  /// The package's actions (trajectories/action.f32) and episodes.jsonl.
  private func package(_ document: [String: Any]) throws -> (actions: [Float], episodes: [[String: Any]]) {
    let path = try #require(document["path"] as? String)
    let data = try Data(contentsOf: URL(fileURLWithPath: path + "/trajectories/action.f32"))
    let actions = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    let lines = try String(contentsOfFile: path + "/episodes.jsonl", encoding: .utf8)
      .split(separator: "\n")
    let episodes = try lines.map {
      try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
    }
    return (actions, episodes)
  }

  @Test func generatedDatasetMatchesTheProtobufReading() throws {
    let (root, expected) = try DatasetFixture.make(
      "rlds", in: directory.url, name: "gen",
      ["--episodes", "5", "--shards", "2", "--image-format", "jpeg"])
    let (status, document, text) = try prepare([root.path, "--fps", "15", "--val-fraction", "0"])
    #expect(status == 0, "\(text)")
    #expect((document["source"] as? [String: Any])?["format"] as? String == "rlds")
    #expect(document["fps"] as? Double == 15)
    let references = try #require(expected["episodes"] as? [[String: Any]])
    #expect(document["episodes"] as? Int == references.count)
    #expect(document["steps"] as? Int == expected["total_steps"] as? Int)
    let cameras = try #require(document["cameras"] as? [[String: Any]])
    #expect(cameras.map { $0["key"] as? String } == ["image", "wrist_image"])
    #expect(cameras.allSatisfy { $0["encoding"] as? String == "jpeg" })
    let (actions, episodes) = try package(document)
    let expectedActions = references.flatMap { ($0["actions"] as? [[Double]] ?? []).flatMap { $0 } }
    #expect(actions.count == expectedActions.count)
    #expect(zip(actions, expectedActions).allSatisfy { abs(Double($0) - $1) < 1e-6 })
    #expect(episodes.map { $0["instruction"] as? String } == references.map { $0["instruction"] as? String })
    let warnings = document["warnings"] as? [[String: Any]] ?? []
    #expect(!warnings.contains { $0["code"] as? String == "fps_assumed" })
    try expectSameImages(document, references)

    // openpi's convention: the 0/1 gripper (1 = open here) becomes 1 = closed.
    let flipped = try prepare([root.path, "--name", "closed1", "--gripper-convention", "close1"])
    #expect(flipped.status == 0, "\(flipped.text)")
    let (flippedActions, _) = try package(flipped.document)
    let dims = try #require(document["action_dim"] as? Int)
    for (index, value) in flippedActions.enumerated() {
      let original = actions[index]
      #expect(index % dims == dims - 1 ? value == 1 - original : value == original)
    }
  }

  /// Every packaged frame is the source's frame of that step (ffmpeg's decoding of the record's
  /// image vs Pillow's of the package's; the decoders upsample chroma differently).
  private func expectSameImages(_ document: [String: Any], _ references: [[String: Any]]) throws {
    var expected: PackageImages.Means = [:]
    for (index, reference) in references.enumerated() {
      expected[String(format: "episode_%06d", index)] = reference["image_cell_means"] as? [String: [[Double]]] ?? [:]
    }
    let path = try #require(document["path"] as? String)
    let problems = try PackageImages.mismatches(path, expected: expected, tolerance: 40)
    #expect(problems.isEmpty, "\(problems)")
  }

  @Test func sequenceExamplesReadLikeExamples() throws {
    let (root, expected) = try DatasetFixture.make(
      "rlds", in: directory.url, name: "sequence", ["--episodes", "3", "--sequence-example"])
    #expect(expected["record_kind"] as? String == "sequence_example")
    let (status, document, text) = try prepare([root.path, "--fps", "10", "--val-fraction", "0"])
    #expect(status == 0, "\(text)")
    let references = try #require(expected["episodes"] as? [[String: Any]])
    #expect(document["steps"] as? Int == expected["total_steps"] as? Int)
    #expect(document["state_dim"] as? Int == expected["state_dim"] as? Int)
    let (actions, episodes) = try package(document)
    let expectedActions = references.flatMap { ($0["actions"] as? [[Double]] ?? []).flatMap { $0 } }
    #expect(actions.count == expectedActions.count)
    #expect(zip(actions, expectedActions).allSatisfy { abs(Double($0) - $1) < 1e-6 })
    #expect(episodes.map { $0["instruction"] as? String } == references.map { $0["instruction"] as? String })
    try expectSameImages(document, references)
  }

  @Test func stepFlagsOutOfPlaceAreReported() throws {
    let cases = [
      ("mid_first", "is_first is 1 at step 2"), ("no_first", "is_first is 0 at step 0"),
      ("terminal_early", "is_terminal is 1 at step 1"),
    ]
    for (kind, text) in cases {
      let (root, expected) = try DatasetFixture.make(
        "rlds", in: directory.url, name: "flags-" + kind,
        ["--episodes", "2", "--cameras", "none", "--flags-defect", kind])
      #expect((expected["flags_defect"] as? [String: Any])?["kind"] as? String == kind)
      let result = try prepare([root.path, "--name", kind, "--fps", "10"])
      #expect(result.status == 0, "\(result.text)")
      let warnings = result.document["warnings"] as? [[String: Any]] ?? []
      let flags: String = warnings.first { $0["code"] as? String == "step_flags" }?["message"] as? String ?? ""
      #expect(flags.contains("episode_000000: " + text), "\(warnings)")
    }
    let (clean, _) = try DatasetFixture.make(
      "rlds", in: directory.url, name: "flags-clean", ["--episodes", "2", "--cameras", "none"])
    let result = try prepare([clean.path, "--name", "clean", "--fps", "10"])
    #expect(result.status == 0, "\(result.text)")
    #expect(!(result.document["warnings"] as? [[String: Any]] ?? []).contains { $0["code"] as? String == "step_flags" })
  }

  @Test func datasetInfoListsTheShardsAndTheirRecords() throws {
    // A shard that dataset_info.json does not list is not read.
    let (stray, expected) = try DatasetFixture.make(
      "rlds", in: directory.url, name: "stray", ["--episodes", "3", "--cameras", "none", "--stray-shard"])
    let strayFile = try #require(expected["stray_shard"] as? String)
    #expect(FileManager.default.fileExists(atPath: try #require(RLDSFixture.versionDirectory(stray)) + "/" + strayFile))
    let read = try prepare([stray.path, "--name", "stray", "--fps", "10"])
    #expect(read.status == 0, "\(read.text)")
    #expect(read.document["episodes"] as? Int == (expected["episodes"] as? [Any])?.count)
    #expect(read.document["steps"] as? Int == expected["total_steps"] as? Int)

    // A shard with fewer records than dataset_info.json lists is invalid data, named.
    let (short, shortExpected) = try DatasetFixture.make(
      "rlds", in: directory.url, name: "short",
      ["--episodes", "4", "--shards", "2", "--cameras", "none", "--truncate-shard"])
    let truncated = try #require(shortExpected["truncated_shard"] as? [String: Any])
    let result = try prepare([short.path, "--name", "short", "--fps", "10"])
    #expect(result.status == 65)
    let text = message(result.document)
    #expect(text.contains(truncated["file"] as? String ?? "?"), "\(text)")
    #expect(
      text.contains(
        "holds \(truncated["records_present"] as? Int ?? -1) records but dataset_info.json "
          + "lists \(truncated["records_listed"] as? Int ?? -1)"), "\(text)")

    // A listed shard that is missing.
    let (gone, goneExpected) = try DatasetFixture.make(
      "rlds", in: directory.url, name: "gone", ["--episodes", "4", "--shards", "2", "--cameras", "none"])
    let files = try #require((goneExpected["files"] as? [String: Any])?["train"] as? [Any])
    let version = try #require(RLDSFixture.versionDirectory(gone))
    let shard = try #require(
      try FileManager.default.contentsOfDirectory(atPath: version).filter { $0.contains("-train.tfrecord-00001") }.first
    )
    #expect(files.count >= 2)
    try FileManager.default.removeItem(atPath: version + "/" + shard)
    let missing = try prepare([gone.path, "--name", "gone", "--fps", "10"])
    #expect(missing.status == 65)
    #expect(message(missing.document).contains(shard), "\(message(missing.document))")
    #expect(message(missing.document).contains("missing"), "\(message(missing.document))")

    // Shards in another file format than TFRecord.
    let (other, _) = try DatasetFixture.make(
      "rlds", in: directory.url, name: "arrayrecord", ["--episodes", "2", "--cameras", "none"])
    let info = try #require(RLDSFixture.versionDirectory(other)) + "/dataset_info.json"
    var document = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: info))) as? [String: Any])
    document["fileFormat"] = "array_record"
    try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: info))
    let refused = try prepare([other.path, "--name", "arrayrecord", "--fps", "10"])
    #expect(refused.status == 65)
    #expect(message(refused.document).contains("fileFormat 'array_record'"), "\(message(refused.document))")

    let list = try vlatune.run(["dataset", "list", "--json"])
    #expect((try list.json()["datasets"] as? [Any])?.count == 1)
  }

  @Test func noOpStepsAreDroppedByOpenVLAsRule() throws {
    let (root, expected) = try DatasetFixture.make(
      "rlds", in: directory.url, name: "noops", ["--episodes", "3", "--noop-steps", "3", "--cameras", "image"])
    let references = try #require(expected["episodes"] as? [[String: Any]])
    let noops = references.map { ($0["noop_steps"] as? [Int] ?? []).count }
    #expect(noops.allSatisfy { $0 > 0 })
    let kept = try prepare([root.path, "--name", "all"])
    #expect(kept.status == 0, "\(kept.text)")
    #expect(kept.document["steps"] as? Int == expected["total_steps"] as? Int)
    let dropped = try prepare([root.path, "--name", "dropped", "--drop-noops"])
    #expect(dropped.status == 0, "\(dropped.text)")
    #expect(dropped.document["steps"] as? Int == (expected["total_steps"] as? Int ?? 0) - noops.reduce(0, +))
    let warnings = dropped.document["warnings"] as? [[String: Any]] ?? []
    #expect(warnings.contains { $0["code"] as? String == "noops_dropped" })
  }

  @Test func flippedChecksumsNameTheRecord() throws {
    for flag in ["--corrupt-crc", "--corrupt-length-crc"] {
      let (root, _) = try DatasetFixture.make(
        "rlds", in: directory.url, name: "crc\(flag)", ["--episodes", "4", flag, "2", "--cameras", "none"])
      let result = try prepare([root.path])
      #expect(result.status == 65)
      let text = message(result.document)
      #expect(text.contains("my_dataset-train.tfrecord-00000-of-00001"), "\(text)")
      #expect(text.contains("record 2"), "\(text)")
      #expect(text.contains(flag == "--corrupt-crc" ? "data checksum" : "length checksum"), "\(text)")
    }
    let list = try vlatune.run(["dataset", "list", "--json"])
    #expect((try list.json()["datasets"] as? [Any])?.isEmpty == true)
  }

  @Test func missingInstructionsNeedTheFlag() throws {
    let (root, _) = try DatasetFixture.make(
      "rlds", in: directory.url, name: "mute", ["--episodes", "2", "--no-instruction", "--cameras", "none"])
    let failed = try prepare([root.path])
    #expect(failed.status == 65)
    #expect(findings(failed.document).contains { $0["code"] as? String == "missing_instruction" })
    let fixed = try prepare([root.path, "--instruction", "stack the cups"])
    #expect(fixed.status == 0, "\(fixed.text)")
    #expect(fixed.document["instructions"] as? [String] == ["stack the cups"])
    let unknown = try prepare([root.path, "--name", "other", "--camera-map", "front=observation.image"])
    #expect(unknown.status == 64)

    let (png, _) = try DatasetFixture.make(
      "rlds", in: directory.url, name: "png", ["--episodes", "2", "--image-format", "png", "--cameras", "image"])
    let rotated = try prepare([png.path, "--name", "png", "--instruction", "x", "--rotate-180", "image"])
    #expect(rotated.status == 64)
    #expect(rotated.text.contains("png frames"), "\(rotated.text)")
    let kept = try prepare([png.path, "--name", "png", "--instruction", "x"])
    #expect(kept.status == 0, "\(kept.text)")
    #expect((kept.document["cameras"] as? [[String: Any]])?.first?["encoding"] as? String == "png")
  }

  /// The real BridgeData debug set: 25 train episodes of 10 steps, 7-d actions and state, four
  /// 64×64 JPEG cameras, no `is_last` anywhere (truncated clips).
  @Test(.enabled(if: DatasetFixture.sharedDatasets != nil))
  func bridgeDebugSetPrepares() throws {
    let shared = try #require(DatasetFixture.sharedDatasets)
    let result = try prepare([
      shared.appendingPathComponent("octo-bridge-debug-rlds").path, "--fps", "5",
      "--camera-map", "primary=image_0,image_1",
    ])
    #expect(result.status == 0, "\(result.text)")
    #expect(result.document["episodes"] as? Int == 25)
    #expect(result.document["steps"] as? Int == 250)
    #expect(result.document["action_dim"] as? Int == 7)
    #expect(result.document["state_dim"] as? Int == 7)
    let cameras = result.document["cameras"] as? [[String: Any]] ?? []
    #expect(cameras.map { $0["key"] as? String } == ["primary", "image_1"])
    #expect(cameras.allSatisfy { $0["width"] as? Int == 64 && $0["height"] as? Int == 64 })
    #expect((result.document["instructions"] as? [String])?.count == 4)
    let warnings = result.document["warnings"] as? [[String: Any]] ?? []
    #expect(warnings.contains { $0["code"] as? String == "no_last_step" })
  }
}

/// Where the RLDS generator puts a dataset: `OUT/NAME/VERSION/`.
enum RLDSFixture {
  static func versionDirectory(_ root: URL) -> String? {
    let manager = FileManager.default
    for name in (try? manager.contentsOfDirectory(atPath: root.path)) ?? [] {
      for version in (try? manager.contentsOfDirectory(atPath: root.path + "/" + name)) ?? [] {
        let path = root.path + "/" + name + "/" + version
        if manager.fileExists(atPath: path + "/features.json") { return path }
      }
    }
    return nil
  }
}
