import Foundation
import Testing
import VlatuneTestSupport

/// What `dataset prepare` chooses from a real-world source and what it says about it: the state
/// never holds the actions, keys can be named (`--action-key`, `--state-keys`), messages list what
/// is there, counts count what they say (issue #22).
@Suite(.enabled(if: DatasetFixture.available), .serialized)
struct SourceKeysCLITests {
  let directory = TemporaryDirectory("vlatune-keys-cli")
  var vlatune: VlatuneRunner { VlatuneRunner(home: directory.appending("home")) }

  private func prepare(_ arguments: [String]) throws -> (status: Int32, document: [String: Any], text: String) {
    let result = try vlatune.run(["dataset", "prepare"] + arguments + ["--json"])
    return (result.status, (try? result.json()) ?? [:], result.standardError)
  }

  private func findings(_ document: [String: Any]) -> [[String: Any]] {
    (document["error"] as? [String: Any])?["findings"] as? [[String: Any]] ?? []
  }

  private func message(_ document: [String: Any]) -> String {
    (document["error"] as? [String: Any])?["message"] as? String ?? ""
  }

  private func text(_ item: [String: Any]?) -> String { item?["message"] as? String ?? "" }

  private func codes(_ items: [[String: Any]]) -> [String] { items.compactMap { $0["code"] as? String } }

  private func keys(_ document: [String: Any]) -> (action: String?, state: [[String: Any]]) {
    let keys = (document["source"] as? [String: Any])?["keys"] as? [String: Any]
    return (keys?["action"] as? String, keys?["state"] as? [[String: Any]] ?? [])
  }

  // MARK: - the state never holds the actions

  @Test func obsActionsIsLeftOutOfTheDefaultStateAndRefusedWhenChosen() throws {
    let (root, expected) = try DatasetFixture.make(
      "hdf5", in: directory.url, name: "copy", ["--layout", "robomimic", "--obs-leak", "copy"])
    let ok = try prepare([root.path, "--instruction", "stack the cubes", "--name", "copy"])
    #expect(ok.status == 0, "\(ok.text)")
    #expect(ok.document["state_dim"] as? Int == expected["state_dim"] as? Int)
    let warnings = ok.document["warnings"] as? [[String: Any]] ?? []
    #expect(codes(warnings).contains("state_key_excluded"))
    let chosen = keys(ok.document)
    #expect(chosen.action == "actions")
    #expect(
      chosen.state.compactMap { $0["key"] as? String } == [
        "obs/robot0_eef_pos", "obs/robot0_eef_quat", "obs/robot0_gripper_qpos",
      ])
    #expect(chosen.state.compactMap { $0["start"] as? Int } == [0, 3, 7])

    let leak = try prepare([
      root.path, "--instruction", "stack the cubes", "--name", "copy2", "--state-keys", "obs/actions,robot0_eef_pos",
    ])
    #expect(leak.status == 65)
    let found = findings(leak.document)
    #expect(codes(found) == ["state_contains_action"])
    let leakText = text(found.first)
    #expect(
      leakText.hasPrefix("7 state dimension(s) (from obs/actions) equal the action on every step: state[0] = action[0]")
    )
    #expect(leakText.contains("--state-keys obs/robot0_eef_pos"))
  }

  @Test func aNextActionCopyIsRefusedAndAScaledCopyIsNot() throws {
    let (next, _) = try DatasetFixture.make(
      "hdf5", in: directory.url, name: "next", ["--layout", "robomimic", "--obs-leak", "next"])
    let refused = try prepare([next.path, "--instruction", "stack the cubes", "--name", "next"])
    #expect(refused.status == 65)
    #expect(codes(findings(refused.document)) == ["state_contains_next_action"])
    let refusal = text(findings(refused.document).first)
    #expect(refusal.contains("(from obs/next_actions) equal the next step's action"))
    let registered =
      (try? FileManager.default.contentsOfDirectory(atPath: directory.appending("home/datasets").path)) ?? []
    #expect(registered.isEmpty)

    let (scaled, expected) = try DatasetFixture.make(
      "hdf5", in: directory.url, name: "scaled", ["--layout", "robomimic", "--obs-leak", "scaled"])
    let accepted = try prepare([scaled.path, "--instruction", "stack the cubes", "--name", "scaled"])
    #expect(accepted.status == 0, "\(accepted.text)")
    #expect(accepted.document["state_dim"] as? Int == expected["state_dim_all_obs"] as? Int)
  }

  @Test func unknownStateKeysAreRefusedListingTheKeysThere() throws {
    let (root, _) = try DatasetFixture.make("hdf5", in: directory.url, name: "plain", ["--layout", "robomimic"])
    let result = try prepare([root.path, "--instruction", "stack", "--state-keys", "joint_pos"])
    #expect(result.status == 64)
    #expect(
      message(result.document).contains(
        "'joint_pos' is not a low-dimensional float dataset in demo.hdf5 data/demo_0/obs/; available: obs/robot0_eef_pos, obs/robot0_eef_quat, obs/robot0_gripper_qpos"
      ))
    let episodes = try prepare([root.path, "--format", "episodes", "--action-key", "act"])
    #expect(episodes.status == 64)
    #expect(message(episodes.document).contains("--action-key: applies to lerobot, hdf5, rlds and npz sources"))
  }

  @Test func rldsKeysAreChosenAndCheckedAgainstTheFeatures() throws {
    let (root, expected) = try DatasetFixture.make("rlds", in: directory.url, name: "rlds", ["--episodes", "3"])
    let fallback = try prepare([root.path, "--name", "rlds1", "--fps", "5"])
    #expect(fallback.status == 0, "\(fallback.text)")
    #expect(keys(fallback.document).action == "steps/action")
    #expect(keys(fallback.document).state.first?["key"] as? String == "steps/observation/state")
    #expect(fallback.document["state_dim"] as? Int == expected["state_dim"] as? Int)
    let unknown = try prepare([root.path, "--name", "rlds2", "--state-keys", "joint_pos"])
    #expect(unknown.status == 64)
    #expect(
      message(unknown.document).contains(
        "'joint_pos' is not a tensor feature under steps/observation/; tensors there: state"))
    let action = try prepare([root.path, "--name", "rlds3", "--action-key", "reward"])
    #expect(action.status == 64)
    #expect(message(action.document).contains("'reward' is not a vector feature of the steps; vector features: "))
    let none = try prepare([root.path, "--name", "rlds4", "--fps", "5", "--state-keys", "state"])
    #expect(none.status == 0)
  }

  // MARK: - LeRobot datasets with other key names

  @Test func lerobotWithPlainKeysNamesItsFeaturesAndTheVideoFolder() throws {
    let (root, _) = try DatasetFixture.make(
      in: directory.url, name: "plain-lerobot",
      ["--version", "v3.0", "--plain-keys", "--cameras", "video", "--camera-keys", "image", "--video-dir", "video"])
    let unnamed = try prepare([root.path, "--name", "p1"])
    #expect(unnamed.status == 65)
    #expect(
      message(unnamed.document).hasPrefix(
        "meta/info.json has no 'action' feature; name the action feature with --action-key (and the state with --state-keys); its features: actions (float32 [7]), "
      ))
    let named = try prepare([root.path, "--name", "p2", "--action-key", "actions", "--state-keys", "state"])
    #expect(named.status == 65)
    let lacking = findings(named.document)
    #expect(codes(lacking) == ["missing_camera"])
    #expect(
      text(lacking.first)
        == "every episode lacks camera image (no file at videos/image/chunk-000/file-000.mp4), but video/image/chunk-000/file-000.mp4 exists: the files are under video/ where meta/info.json's paths say videos/ (rename the folder to videos/); leave it out with --camera-map (cameras with files: image (0 of 4 episodes); --camera-map none for no images)"
    )
    // --skip-incomplete cannot skip a camera no episode has.
    let skipped = try prepare([
      root.path, "--name", "p3", "--action-key", "actions", "--state-keys", "state", "--skip-incomplete",
    ])
    #expect(skipped.status == 65)
    #expect(codes(findings(skipped.document)) == ["missing_camera"])

    try FileManager.default.moveItem(
      at: root.appendingPathComponent("video"), to: root.appendingPathComponent("videos"))
    let ok = try prepare([root.path, "--name", "p4", "--action-key", "actions", "--state-key", "state"])
    #expect(ok.status == 0, "\(ok.text)")
    #expect(keys(ok.document).action == "actions")
    #expect(keys(ok.document).state.first?["key"] as? String == "state")
    #expect(ok.document["state_dim"] as? Int == 8)

    let withoutState = try prepare([root.path, "--name", "p5", "--action-key", "actions"])
    #expect(withoutState.status == 0)
    let warning = (withoutState.document["warnings"] as? [[String: Any]] ?? []).first {
      $0["code"] as? String == "no_state"
    }
    #expect(text(warning).hasSuffix("pass --state-keys state"))
  }

  @Test func inspectListsFeaturesCamerasWithFilesAndTheKeysPrepareWouldTake() throws {
    let (root, _) = try DatasetFixture.make(
      in: directory.url, name: "inspect-lerobot",
      [
        "--version", "v2.1", "--plain-keys", "--cameras", "video", "--camera-keys", "image,wrist", "--video-dir",
        "video",
      ])
    try FileManager.default.createDirectory(
      at: root.appendingPathComponent("videos/chunk-000"), withIntermediateDirectories: true)
    try FileManager.default.moveItem(
      at: root.appendingPathComponent("video/chunk-000/image"),
      to: root.appendingPathComponent("videos/chunk-000/image"))
    let result = try vlatune.run(["dataset", "inspect", root.path, "--json"])
    #expect(result.status == 0, "\(result.standardError)")
    let document = try result.json()
    #expect(document["format"] as? String == "lerobot")
    #expect(document["version"] as? String == "v2.1")
    #expect(document["episodes"] as? Int == 4)
    let cameras = document["cameras"] as? [[String: Any]] ?? []
    #expect(cameras.compactMap { $0["key"] as? String } == ["image", "wrist"])
    #expect(cameras.compactMap { $0["episodes_with_files"] as? Int } == [4, 0])
    let features = (document["features"] as? [[String: Any]] ?? []).compactMap { $0["key"] as? String }
    #expect(features.contains("actions") && features.contains("state"))
    let notes = document["notes"] as? [[String: Any]] ?? []
    #expect(codes(notes).contains("missing_feature"))
    #expect(
      text(notes.first { $0["code"] as? String == "missing_camera" }).contains(
        "but video/chunk-000/wrist/episode_000000.mp4 exists"))
    let named = try vlatune.run([
      "dataset", "inspect", root.path, "--action-key", "actions", "--state-keys", "state", "--camera-map", "image",
    ])
    #expect(named.status == 0)
    #expect(named.standardOutput.contains("cameras    image (4 of 4 episodes), wrist (0 of 4 episodes)"))
    #expect(named.standardOutput.contains("prepare    action actions; state state [0..<8]"))
    #expect(!named.standardOutput.contains("error:"))
    // Nothing was registered.
    #expect(
      ((try? FileManager.default.contentsOfDirectory(atPath: directory.appending("home/datasets").path)) ?? []).isEmpty)
  }

  @Test func aDatasetOneFolderDownIsFoundAndSeveralAreNamed() throws {
    let parent = directory.appending("above")
    _ = try DatasetFixture.make(in: parent, name: "only", ["--version", "v2.1"])
    let found = try prepare([parent.path, "--name", "below"])
    #expect(found.status == 0, "\(found.text)")
    #expect(codes(found.document["warnings"] as? [[String: Any]] ?? []).contains("dataset_below"))
    let explicit = try prepare([parent.path, "--name", "below2", "--format", "lerobot"])
    #expect(explicit.status == 0, "\(explicit.text)")

    _ = try DatasetFixture.make(in: parent, name: "second", ["--version", "v2.1"])
    let two = try prepare([parent.path, "--name", "two"])
    #expect(two.status == 64)
    #expect(message(two.document).contains("holds 2 LeRobotDatasets one folder down (only, second)"))
  }

  @Test func missingFilesAreCountedPerEpisode() throws {
    let (root, expected) = try DatasetFixture.make(
      in: directory.url, name: "gaps", ["--version", "v2.1", "--cameras", "video", "--episodes", "6"])
    let episodes = expected["episodes"] as? [[String: Any]] ?? []
    var removed = 0
    for episode in episodes.prefix(5) {
      for (_, video) in episode["videos"] as? [String: [String: Any]] ?? [:] {
        if let path = video["path"] as? String, removed < 5 {
          try FileManager.default.removeItem(at: root.appendingPathComponent(path))
          removed += 1
          break
        }
      }
    }
    let result = try prepare([root.path, "--name", "gaps"])
    #expect(result.status == 65)
    let found = findings(result.document)
    #expect(found.count == 5)
    #expect(message(result.document).hasSuffix("(5 errors)"))
    #expect(text(found.first).contains("(5 of 6 episodes have absent files)"))
    let skipped = try prepare([root.path, "--name", "gaps", "--skip-incomplete"])
    #expect(skipped.status == 0, "\(skipped.text)")
    #expect(skipped.document["episodes"] as? Int == 1)
  }

  // MARK: - npz simulator dumps

  @Test func npzEpisodesDropTheFinalObservationAndMatchNumpy() throws {
    let (root, expected) = try DatasetFixture.make(
      "npz", in: directory.url, name: "sim", ["--cameras", "front,wrist", "--extra-last-frame", "--compressed"])
    let result = try prepare([root.path, "--name", "sim"])
    #expect(result.status == 0, "\(result.text)")
    #expect((result.document["source"] as? [String: Any])?["format"] as? String == "npz")
    #expect(result.document["episodes"] as? Int == expected["episode_count"] as? Int)
    #expect(result.document["steps"] as? Int == (expected["lengths"] as? [Int] ?? []).reduce(0, +))
    #expect(result.document["fps"] as? Double == expected["fps"] as? Double)
    let stats = (result.document["stats"] as? [String: Any])?["action"] as? [String: Any]
    let mean = stats?["mean"] as? [Double] ?? []
    let reference = expected["action_mean"] as? [Double] ?? []
    #expect(mean.count == reference.count && zip(mean, reference).allSatisfy { abs($0 - $1) < 1e-6 })
    #expect(codes(result.document["warnings"] as? [[String: Any]] ?? []).contains("final_frame_dropped"))
    let images = try PackageImages.mismatches(
      try #require(result.document["path"] as? String),
      expected: Dictionary(
        uniqueKeysWithValues: (expected["episodes"] as? [[String: Any]] ?? []).map {
          ($0["name"] as? String ?? "", $0["image_cell_means"] as? [String: [[Double]]] ?? [:])
        }), tolerance: 40)
    #expect(images.isEmpty, "\(images)")
  }

  @Test func aCameraThatIsBlackInEveryFrameIsWarnedAbout() throws {
    let root = directory.appending("dark")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    let python = try #require(TestPaths.python)
    let script = """
      import json, sys, numpy as np
      rng = np.random.default_rng(0)
      for e in range(2):
          np.savez(f"{sys.argv[1]}/episode_{e:03d}.npz", actions=rng.normal(size=(9, 3)).astype(np.float32),
                   front=rng.integers(0, 255, size=(9, 16, 16, 3), dtype=np.uint8),
                   image_3=np.zeros((9, 16, 16, 3), dtype=np.uint8))
      json.dump({"instruction": "reach", "fps": 5}, open(f"{sys.argv[1]}/meta.json", "w"))
      """
    let written = try ProcessRunner.run(python, ["-c", script, root.path])
    #expect(written.status == 0, "\(written.standardError)")
    let result = try prepare([root.path, "--name", "dark"])
    #expect(result.status == 0, "\(result.text)")
    let warnings = (result.document["warnings"] as? [[String: Any]] ?? []).filter {
      $0["code"] as? String == "black_camera"
    }
    #expect(
      warnings.map(text) == [
        "camera 'image_3' is black in every frame sampled (6: first, middle and last of each episode); it may never have been recorded: leave it out with --camera-map"
      ])
  }

  @Test func npzKeysAreNamedWhenTheyAreNotTheUsualOnes() throws {
    let (root, _) = try DatasetFixture.make(
      "npz", in: directory.url, name: "odd", ["--meta", "none", "--action-key", "act", "--state-key", "joints"])
    let unnamed = try prepare([root.path, "--name", "odd"])
    #expect(unnamed.status == 65)
    #expect(
      message(unnamed.document).hasPrefix(
        "episode_000.npz has no 'actions' or 'action' array; name it with --action-key (arrays: act ["))
    let named = try prepare([
      root.path, "--name", "odd", "--action-key", "act", "--state-keys", "joints", "--instruction", "push the block",
      "--fps", "15",
    ])
    #expect(named.status == 0, "\(named.text)")
    #expect(keys(named.document).state.first?["key"] as? String == "joints")
    #expect(named.document["fps"] as? Double == 15)
  }

  // MARK: - vlatune's own format

  @Test func episodesTakeFpsWhereMetaHasNoneAndReportEveryProblemAtOnce() throws {
    let root = directory.appending("own")
    func write(_ episode: String, meta: String, steps: Bool = true) throws {
      let folder = root.appendingPathComponent(episode)
      try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
      try meta.write(to: folder.appendingPathComponent("meta.json"), atomically: true, encoding: .utf8)
      if steps {
        let lines = (0..<4).map {
          "{\"action\": [\(Double($0) * 0.1), \(1 - Double($0) * 0.2)], \"timestamp\": \(Double($0) / 5)}"
        }
        try (lines.joined(separator: "\n") + "\n").write(
          to: folder.appendingPathComponent("steps.jsonl"), atomically: true, encoding: .utf8)
      }
    }
    try write("ep0", meta: #"{"instruction": "wave"}"#)
    try write("ep1", meta: #"{"instruction": "wave"}"#)
    let filled = try prepare([root.path, "--name", "own", "--fps", "5"])
    #expect(filled.status == 0, "\(filled.text)")
    #expect(filled.document["fps"] as? Double == 5)

    try write("ep2", meta: #"{"instruction": "wave", "fps": 10}"#)
    let conflict = try prepare([root.path, "--name", "own2", "--fps", "5"])
    #expect(conflict.status == 65)
    #expect(codes(findings(conflict.document)).contains("fps_conflict"))

    try write("ep3", meta: #"{"instruction": "wave"}"#, steps: false)
    let both = try prepare([root.path, "--name", "own3"])
    #expect(both.status == 65)
    let reported = findings(both.document).compactMap { item -> String? in
      guard item["episode"] as? String == "ep3" else { return nil }
      return item["code"] as? String
    }
    #expect(reported.sorted() == ["invalid_fps", "missing_file"])
  }

  @Test func aFewValuedDimensionIsHintedAsTheGripper() throws {
    let folder = directory.appending("gripper/ep0")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    try #"{"instruction": "grip", "fps": 10}"#.write(
      to: folder.appendingPathComponent("meta.json"), atomically: true, encoding: .utf8)
    let lines = (0..<12).map {
      "{\"action\": [\(Double([-1, 0, 1][$0 % 3])), \(Double($0) * 0.37)], \"timestamp\": \(Double($0) / 10)}"
    }
    try (lines.joined(separator: "\n") + "\n").write(
      to: folder.appendingPathComponent("steps.jsonl"), atomically: true, encoding: .utf8)
    let result = try prepare([directory.appending("gripper").path, "--name", "gripper", "--val-fraction", "0"])
    #expect(result.status == 0, "\(result.text)")
    let hints = (result.document["warnings"] as? [[String: Any]] ?? []).filter {
      $0["code"] as? String == "gripper_hint"
    }
    #expect(
      hints.map(text) == [
        "action[0] takes only the values -1.0, 0.0, 1.0: if it is the gripper, pass --gripper-dim 0 to keep it out of normalization"
      ])
  }
}
