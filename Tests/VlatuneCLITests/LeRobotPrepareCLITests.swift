import Foundation
import Testing
import VlatuneTestSupport

/// `vlatune dataset prepare` on LeRobotDatasets: generated ones (every value checked against
/// pyarrow's reading), the real ones under `../shared/datasets`, and broken ones (exit 65,
/// nothing registered).
@Suite(.enabled(if: DatasetFixture.available), .serialized)
struct LeRobotPrepareCLITests {
  let directory = TemporaryDirectory("vlatune-lerobot-cli")
  var vlatune: VlatuneRunner { VlatuneRunner(home: directory.appending("home")) }

  private func prepare(_ arguments: [String]) throws -> (status: Int32, document: [String: Any], text: String) {
    let result = try vlatune.run(["dataset", "prepare"] + arguments + ["--json"])
    let document = (try? result.json()) ?? [:]
    return (result.status, document, result.standardError)
  }

  private func error(_ document: [String: Any]) -> (code: String?, message: String, findings: [[String: Any]]) {
    let error = document["error"] as? [String: Any] ?? [:]
    return (
      error["code"] as? String, error["message"] as? String ?? "",
      error["findings"] as? [[String: Any]] ?? []
    )
  }

  private func registeredCount() throws -> Int {
    let list = try vlatune.run(["dataset", "list", "--json"])
    return (try list.json()["datasets"] as? [Any])?.count ?? -1
  }

  @Test func v3VideoDatasetIsDetectedAndPackagedWithExactStatistics() throws {
    let (root, expected) = try DatasetFixture.make(
      in: directory.url, name: "v3video",
      ["--version", "v3.0", "--cameras", "video", "--episodes", "4", "--files-per-chunk", "2"])
    let (status, document, text) = try prepare([root.path, "--name", "v3video", "--val-fraction", "0.25"])
    #expect(status == 0, "\(text)")
    #expect((document["source"] as? [String: Any])?["format"] as? String == "lerobot")
    let episodes = try #require(expected["episodes"] as? [[String: Any]])
    #expect(document["episodes"] as? Int == episodes.count)
    #expect(document["steps"] as? Int == expected["total_frames"] as? Int)
    #expect(document["fps"] as? Double == expected["fps"] as? Double)
    let cameras = try #require(document["cameras"] as? [[String: Any]])
    #expect(cameras.map { $0["key"] as? String } == ["front", "wrist"])
    #expect(cameras.allSatisfy { $0["encoding"] as? String == "jpeg" })
    let instructions = Set(episodes.compactMap { $0["instruction"] as? String })
    #expect(Set(document["instructions"] as? [String] ?? []) == instructions)

    // dataset_statistics.json: exact mean/min/max of pyarrow's values.
    let package = try #require(document["path"] as? String)
    let statistics =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: package + "/dataset_statistics.json"))) as? [String: Any]
    let action = try #require((statistics?["v3video"] as? [String: Any])?["action"] as? [String: Any])
    let rows = episodes.flatMap { $0["actions"] as? [[Double]] ?? [] }
    let dims = rows[0].count
    for dim in 0..<dims {
      let column = rows.map { $0[dim] }
      let mean = column.reduce(0, +) / Double(column.count)
      #expect(abs((action["mean"] as! [Double])[dim] - mean) < 1e-9)
      #expect((action["min"] as! [Double])[dim] == column.min())
      #expect((action["max"] as! [Double])[dim] == column.max())
    }
    // The generator's meta/stats.json is exact, so no disagreement is reported.
    let warnings = document["warnings"] as? [[String: Any]] ?? []
    #expect(!warnings.contains { $0["code"] as? String == "stats_disagree" }, "\(warnings)")
  }

  /// Every packaged frame is the frame of that step as an independent decoder sees it (the
  /// ffmpeg CLI for videos, selected by the episode's timestamps; Pillow for image columns).
  private func expectSameFrames(_ document: [String: Any], _ episodes: [[String: Any]], slots: [String: String]) throws
  {
    var expected: PackageImages.Means = [:]
    for episode in episodes {
      let index = try #require(episode["episode_index"] as? Int)
      let frames = episode["image_cell_means"] as? [String: [[Double]]] ?? [:]
      #expect(Set(frames.keys) == Set(slots.keys))
      expected[String(format: "episode_%06d", index)] = Dictionary(
        uniqueKeysWithValues: frames.map { (slots[$0.key] ?? $0.key, $0.value) })
    }
    let path = try #require(document["path"] as? String)
    let problems = try PackageImages.mismatches(path, expected: expected, tolerance: 40)
    #expect(problems.isEmpty, "\(problems)")
  }

  @Test func videoAndImageFramesAreTheRightFrames() throws {
    let slots = ["observation.images.front": "front", "observation.images.wrist": "wrist"]
    let cases: [(String, [String])] = [
      ("v3-av1", ["--version", "v3.0", "--cameras", "video", "--codec", "av1", "--files-per-chunk", "2"]),
      ("v21-h264", ["--version", "v2.1", "--cameras", "video", "--codec", "h264"]),
      ("v3-images", ["--version", "v3.0", "--cameras", "image"]),
    ]
    for (name, options) in cases {
      let (root, expected) = try DatasetFixture.make(
        in: directory.url, name: "frames-" + name, options + ["--episodes", "3", "--image-size", "64x48"])
      let (status, document, text) = try prepare([root.path, "--name", name, "--val-fraction", "0"])
      #expect(status == 0, "\(name): \(text)")
      try expectSameFrames(document, try #require(expected["episodes"] as? [[String: Any]]), slots: slots)
    }
  }

  @Test func archivesAreExtractedPreparedAndCleanedUp() throws {
    let (root, expected) = try DatasetFixture.make(
      in: directory.url, name: "packed", ["--version", "v2.1", "--cameras", "video", "--episodes", "3"])
    let archive = directory.appending("packed.tar.gz")
    let tar = try ProcessRunner.run(
      "/bin/tar", ["-czf", archive.path, "-C", directory.url.path, "packed"])
    #expect(tar.status == 0, "\(tar.standardError)")

    // Read as an `episodes` archive, the fix is named; with --format auto it is taken as LeRobot.
    let episodes = try prepare([archive.path, "--format", "episodes"])
    #expect(episodes.status == 65)
    #expect(error(episodes.document).message.contains("--format lerobot"), "\(error(episodes.document).message)")
    let auto = try prepare([archive.path, "--name", "auto"])
    #expect(auto.status == 0, "\(auto.text)")
    #expect((auto.document["source"] as? [String: Any])?["format"] as? String == "lerobot")
    #expect(auto.document["steps"] as? Int == expected["total_frames"] as? Int)

    let packed = try prepare([archive.path, "--format", "lerobot"])
    #expect(packed.status == 0, "\(packed.text)")
    #expect(packed.document["steps"] as? Int == expected["total_frames"] as? Int)
    #expect((packed.document["source"] as? [String: Any])?["path"] as? String == archive.path)
    #expect((packed.document["cameras"] as? [Any])?.count == 2)
    let scratch = directory.appending("home/tmp")
    let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: scratch.path)) ?? []
    #expect(leftovers.isEmpty, "\(leftovers)")

    // A link inside the archive is refused before anything is read.
    try FileManager.default.createSymbolicLink(
      atPath: root.appendingPathComponent("meta/link.json").path, withDestinationPath: "/etc/passwd")
    let linked = directory.appending("linked.tar")
    _ = try ProcessRunner.run("/bin/tar", ["-cf", linked.path, "-C", directory.url.path, "packed"])
    let refused = try prepare([linked.path, "--format", "lerobot", "--name", "linked"])
    #expect(refused.status == 65)
    #expect(error(refused.document).findings.contains { $0["code"] as? String == "unsafe_entry" })
    #expect(try registeredCount() == 2)
  }

  @Test func cameraMapChoosesOrdersAndRenamesCameras() throws {
    let (root, _) = try DatasetFixture.make(
      in: directory.url, name: "cams", ["--version", "v2.1", "--cameras", "image"])
    let mapped = try prepare([
      root.path, "--name", "mapped", "--camera-map", "hand=observation.images.wrist,observation.images.front",
    ])
    #expect(mapped.status == 0, "\(mapped.text)")
    let cameras = mapped.document["cameras"] as? [[String: Any]] ?? []
    #expect(cameras.map { $0["key"] as? String } == ["hand", "front"])
    #expect(cameras.allSatisfy { $0["encoding"] as? String == "png" })

    let none = try prepare([root.path, "--name", "blind", "--camera-map", "none"])
    #expect(none.status == 0, "\(none.text)")
    #expect((none.document["cameras"] as? [Any])?.isEmpty == true)

    let unknown = try prepare([root.path, "--name", "bad", "--camera-map", "top=observation.images.top"])
    #expect(unknown.status == 64)
    #expect(unknown.text.contains("--camera-map"))
    #expect(unknown.text.contains("observation.images.front, observation.images.wrist"), "\(unknown.text)")
    #expect(try registeredCount() == 2)
  }

  @Test func missingVideoFailsNamingItUnlessIncompleteEpisodesAreSkipped() throws {
    let (root, _) = try DatasetFixture.make(
      in: directory.url, name: "partial", ["--version", "v2.1", "--cameras", "video", "--episodes", "3"])
    let removed = "videos/chunk-000/observation.images.wrist/episode_000001.mp4"
    try FileManager.default.removeItem(at: root.appendingPathComponent(removed))
    let failed = try prepare([root.path])
    #expect(failed.status == 65)
    let (code, _, findings) = error(failed.document)
    #expect(code == "invalid_dataset")
    #expect(
      findings.contains {
        ($0["message"] as? String ?? "").contains(removed) && $0["code"] as? String == "missing_file"
      })
    #expect(try registeredCount() == 0)

    let skipped = try prepare([root.path, "--skip-incomplete"])
    #expect(skipped.status == 0, "\(skipped.text)")
    #expect(skipped.document["episodes"] as? Int == 2)
    let warnings = skipped.document["warnings"] as? [[String: Any]] ?? []
    #expect(warnings.contains { $0["code"] as? String == "episodes_skipped" })
  }

  @Test func brokenFilesAreInvalidDataWithTheFileAndColumnNamed() throws {
    func fresh(_ name: String, _ options: [String] = []) throws -> URL {
      try DatasetFixture.make(in: directory.url, name: name, ["--version", "v2.1", "--cameras", "none"] + options).root
    }
    let dataFile = "data/chunk-000/episode_000001.parquet"

    // Truncated data file.
    let truncated = try fresh("truncated")
    let path = truncated.appendingPathComponent(dataFile)
    let bytes = try Data(contentsOf: path)
    try bytes.prefix(bytes.count / 2).write(to: path)
    var result = try prepare([truncated.path])
    #expect(result.status == 65)
    #expect(error(result.document).message.contains(dataFile))
    #expect(error(result.document).message.contains("truncated"))

    // A page overwritten in the middle of the file (inside the column chunks).
    let corrupt = try fresh("corrupt", ["--compression", "snappy"])
    let corruptPath = corrupt.appendingPathComponent(dataFile)
    var damaged = [UInt8](try Data(contentsOf: corruptPath))
    for offset in 4..<min(68, damaged.count) { damaged[offset] = 0xff }
    try Data(damaged).write(to: corruptPath)
    result = try prepare([corrupt.path])
    #expect(result.status == 65)
    #expect(error(result.document).message.contains(dataFile))
    #expect(error(result.document).message.contains("column '"), "\(error(result.document).message)")

    // An unknown version.
    let old = try fresh("old")
    let infoPath = old.appendingPathComponent("meta/info.json")
    let info = try String(contentsOf: infoPath, encoding: .utf8)
      .replacingOccurrences(of: "\"v2.1\"", with: "\"v1.6\"")
    try info.write(to: infoPath, atomically: true, encoding: .utf8)
    result = try prepare([old.path, "--format", "lerobot"])
    #expect(result.status == 65)
    #expect(error(result.document).message.contains("v1.6"))
    #expect(error(result.document).message.contains("v2.0, v2.1 and v3.0"))

    // Schema mismatch: one episode's file from a dataset with another action size.
    let mixed = try fresh("mixed")
    let other = try DatasetFixture.make(
      in: directory.url, name: "other", ["--version", "v2.1", "--cameras", "none", "--action-dim", "5"]
    ).root
    let target = mixed.appendingPathComponent(dataFile)
    try FileManager.default.removeItem(at: target)
    try FileManager.default.copyItem(at: other.appendingPathComponent(dataFile), to: target)
    result = try prepare([mixed.path])
    #expect(result.status == 65)
    #expect(error(result.document).findings.contains { $0["code"] as? String == "dim_mismatch" })

    // A data file whose rows belong to no listed episode.
    let strays = try fresh("strays")
    try FileManager.default.removeItem(at: strays.appendingPathComponent(dataFile))
    try FileManager.default.copyItem(
      at: strays.appendingPathComponent("data/chunk-000/episode_000000.parquet"),
      to: strays.appendingPathComponent(dataFile))
    result = try prepare([strays.path])
    #expect(result.status == 65)
    #expect(error(result.document).findings.contains { $0["code"] as? String == "missing_episode_data" })

    // Parquet features outside the reader's subset: named column and feature.
    for (kind, feature) in [("lz4", "compression LZ4_RAW"), ("delta", "encoding DELTA_BINARY_PACKED")] {
      let (root, expected) = try DatasetFixture.make(
        in: directory.url, name: "unsupported-" + kind, ["--version", "v2.1", "--unsupported", kind])
      let unsupported = try #require(expected["unsupported"] as? [String: Any])
      result = try prepare([root.path])
      #expect(result.status == 65)
      let message = error(result.document).message
      #expect(message.contains(feature), "\(message)")
      #expect(message.contains("column '"), "\(message)")
      if let column = unsupported["column"] as? String { #expect(message.contains("column '\(column)'"), "\(message)") }
    }

    // A timestamp off the 1/fps grid, named by episode and step.
    let (jittered, jitter) = try DatasetFixture.make(
      in: directory.url, name: "jittered", ["--version", "v3.0", "--jitter-timestamp"])
    let moved = try #require(jitter["jittered"] as? [String: Any])
    result = try prepare([jittered.path])
    #expect(result.status == 65)
    #expect(
      error(result.document).findings.contains {
        $0["code"] as? String == "timestamp_off_grid" && $0["episode"] as? String == "episode_000000"
          && $0["step"] as? Int == moved["step"] as? Int
      }, "\(error(result.document).findings)")

    // meta/info.json declaring another action shape than the data has.
    let (declared, _) = try DatasetFixture.make(
      in: directory.url, name: "declared", ["--version", "v2.1", "--declared-action-dim", "6"])
    result = try prepare([declared.path])
    #expect(result.status == 65)
    #expect(
      error(result.document).findings.contains {
        $0["code"] as? String == "shape_mismatch" && ($0["message"] as? String ?? "").contains("declares shape [6]")
      }, "\(error(result.document).findings)")

    #expect(try registeredCount() == 0)
  }

  @Test func disagreeingShippedStatisticsAreReported() throws {
    let (root, _) = try DatasetFixture.make(
      in: directory.url, name: "stale", ["--version", "v3.0", "--cameras", "none"])
    let statsPath = root.appendingPathComponent("meta/stats.json")
    var stats = try JSONSerialization.jsonObject(with: Data(contentsOf: statsPath)) as! [String: Any]
    var action = stats["action"] as! [String: Any]
    var mean = action["mean"] as! [Double]
    mean[2] += 10
    action["mean"] = mean
    stats["action"] = action
    try JSONSerialization.data(withJSONObject: stats).write(to: statsPath)
    let result = try prepare([root.path])
    #expect(result.status == 0, "\(result.text)")
    let warnings = result.document["warnings"] as? [[String: Any]] ?? []
    let disagreement = warnings.first { $0["code"] as? String == "stats_disagree" }
    #expect(disagreement?["field"] as? String == "action.mean")
    let message = disagreement?["message"] as? String ?? ""
    #expect(message.contains("[2]"), "\(message)")
  }

  /// The real datasets: counts from their parquet files (checked with pyarrow when they were
  /// collected, see ../shared/datasets/README.md).
  @Test(.enabled(if: DatasetFixture.sharedDatasets != nil))
  func realDatasetsPrepare() throws {
    let shared = try #require(DatasetFixture.sharedDatasets)
    let gr00t = try prepare([
      shared.appendingPathComponent("gr00t-robot-sim-picknplace-v2").path, "--camera-map",
      "ego=observation.images.ego_view",
    ])
    #expect(gr00t.status == 0, "\(gr00t.text)")
    #expect(gr00t.document["steps"] as? Int == 2096)
    #expect(gr00t.document["action_dim"] as? Int == 44)
    #expect((gr00t.document["cameras"] as? [[String: Any]])?.first?["height"] as? Int == 256)
    let instructions = gr00t.document["instructions"] as? [String] ?? []
    #expect(instructions.count == 5)
    #expect(instructions.contains("valid") == false)

    // In text, its 25 constant action dimensions are one line, not 25.
    let text = try vlatune.run([
      "dataset", "prepare", shared.appendingPathComponent("gr00t-robot-sim-picknplace-v2").path,
      "--camera-map", "ego=observation.images.ego_view", "--name", "gr00t-text",
    ])
    let output = text.standardOutput + text.standardError
    #expect(output.contains("action: 25 constant dimension(s) [7, 8, 9"), "\(output)")
    #expect(!output.contains("action[7] is constant"))

    // Its declared second camera has no files: a clear error by default.
    let undeclared = try prepare([shared.appendingPathComponent("gr00t-robot-sim-picknplace-v2").path, "--name", "g2"])
    #expect(undeclared.status == 65)
    #expect(
      error(undeclared.document).findings.contains {
        ($0["message"] as? String ?? "").contains("observation.images.egoview")
      })

    let g1 = try prepare([shared.appendingPathComponent("g1-inspire-pickbottle-v21").path, "--skip-incomplete"])
    #expect(g1.status == 0, "\(g1.text)")
    #expect(g1.document["episodes"] as? Int == 4)
    let g1Camera = (g1.document["cameras"] as? [[String: Any]])?.first
    #expect(g1Camera?["width"] as? Int == 640 && g1Camera?["height"] as? Int == 480)

    let reachy = try prepare([shared.appendingPathComponent("reachy2-apple-storage-v30").path, "--camera-map", "none"])
    #expect(reachy.status == 0, "\(reachy.text)")
    #expect(reachy.document["episodes"] as? Int == 3)
    #expect(reachy.document["steps"] as? Int == 899)
    #expect(reachy.document["instructions"] as? [String] == ["place the apple in the plate"])
  }
}
