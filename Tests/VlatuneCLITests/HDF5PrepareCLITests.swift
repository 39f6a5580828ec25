import Foundation
import Testing
import VlatuneTestSupport

/// `vlatune dataset prepare` on HDF5 demonstrations (robomimic / LIBERO and ALOHA / ACT layouts)
/// written with h5py; every value checked against h5py's reading of the same files.
@Suite(.enabled(if: DatasetFixture.available), .serialized)
struct HDF5PrepareCLITests {
  let directory = TemporaryDirectory("vlatune-hdf5-cli")
  var vlatune: VlatuneRunner { VlatuneRunner(home: directory.appending("home")) }

  private func prepare(_ arguments: [String]) throws -> (status: Int32, document: [String: Any], text: String) {
    let result = try vlatune.run(["dataset", "prepare"] + arguments + ["--json"])
    return (result.status, (try? result.json()) ?? [:], result.standardError)
  }

  private func findings(_ document: [String: Any]) -> [[String: Any]] {
    (document["error"] as? [String: Any])?["findings"] as? [[String: Any]] ?? []
  }

  /// Each package episode's actions and states by name (episodes.jsonl + trajectories/*.f32).
  private func episodes(_ document: [String: Any]) throws -> [String: (actions: [Float], states: [Float])] {
    let path = try #require(document["path"] as? String)
    let actionDim = try #require(document["action_dim"] as? Int)
    let stateDim = try #require(document["state_dim"] as? Int)
    func floats(_ name: String) throws -> [Float] {
      let data = try Data(contentsOf: URL(fileURLWithPath: path + "/trajectories/" + name))
      return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
    let actions = try floats("action.f32")
    let states = stateDim > 0 ? try floats("state.f32") : []
    var result: [String: (actions: [Float], states: [Float])] = [:]
    for line in try String(contentsOfFile: path + "/episodes.jsonl", encoding: .utf8).split(separator: "\n") {
      let episode = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
      let (offset, steps) = (episode["offset"] as? Int ?? 0, episode["steps"] as? Int ?? 0)
      result[episode["name"] as? String ?? ""] = (
        Array(actions[(offset * actionDim)..<((offset + steps) * actionDim)]),
        stateDim > 0 ? Array(states[(offset * stateDim)..<((offset + steps) * stateDim)]) : []
      )
    }
    return result
  }

  private func matches(_ mine: [Float], _ reference: [[Double]]) -> Bool {
    let flat = reference.flatMap { $0 }
    return mine.count == flat.count && zip(mine, flat).allSatisfy { abs(Double($0) - $1) < 1e-5 * max(1, abs($1)) }
  }

  /// Every packaged frame is the file's frame of that step (h5py's pixels, or ffmpeg's decoding
  /// of stored JPEGs, vs Pillow's decoding of the package: raw frames are JPEG-encoded at quality
  /// 95 and the decoders upsample chroma differently on these tiny frames, hence the tolerance;
  /// the nearest-frame check still tells neighbouring steps apart).
  private func expectSameImages(_ document: [String: Any], _ references: [[String: Any]]) throws {
    var expected: PackageImages.Means = [:]
    for reference in references {
      expected[try #require(reference["name"] as? String)] =
        reference["image_cell_means"] as? [String: [[Double]]] ?? [:]
    }
    let path = try #require(document["path"] as? String)
    let problems = try PackageImages.mismatches(path, expected: expected, tolerance: 40)
    #expect(problems.isEmpty, "\(problems)")
  }

  @Test func instructionsFromEnvArgsAndEpisodeMetadata() throws {
    for flag in ["--instruction-env-args", "--instruction-ep-meta"] {
      let (root, expected) = try DatasetFixture.make(
        "hdf5", in: directory.url, name: "instr" + flag, ["--layout", "robomimic", "--cameras", "none", flag])
      let (status, document, text) = try prepare([root.path, "--name", "instr" + flag])
      #expect(status == 0, "\(flag): \(text)")
      let references = try #require(expected["episodes"] as? [[String: Any]])
      // ep_meta gives each demo its own text; env_args one for the file.
      let wanted = references.map { $0["instruction"] as? String ?? expected["instruction"] as? String ?? "?" }
      #expect(Set(wanted).count == (flag == "--instruction-ep-meta" ? references.count : 1))
      let path = try #require(document["path"] as? String)
      let packaged = try String(contentsOfFile: path + "/episodes.jsonl", encoding: .utf8).split(separator: "\n")
        .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:] }
      let byName = Dictionary(
        uniqueKeysWithValues: packaged.map { ($0["name"] as? String ?? "", $0["instruction"] as? String) })
      for (reference, instruction) in zip(references, wanted) {
        #expect(byName[reference["name"] as? String ?? "?"] == instruction, "\(flag) \(reference["name"] ?? "?")")
      }
      // --instruction overrides whatever the file records.
      let forced = try prepare([root.path, "--name", "forced" + flag, "--instruction", "stack the bowls"])
      #expect(forced.document["instructions"] as? [String] == ["stack the bowls"], "\(forced.text)")
    }
  }

  @Test func malformedArraysAreInvalidDataNamingTheDataset() throws {
    let cases: [(layout: String, defect: String, expect: String)] = [
      ("robomimic", "obs_length", "length_mismatch"), ("robomimic", "image_frames", "length_mismatch"),
      ("robomimic", "image_dtype", "image_dtype"),
      ("robomimic", "no_actions", "cannot open dataset 'data/demo_0/actions'"),
      ("aloha", "obs_length", "qpos"), ("aloha", "image_frames", "length_mismatch"),
      ("aloha", "image_dtype", "image_dtype"), ("aloha", "no_actions", "/action"),
    ]
    for item in cases {
      let name = item.layout + "-" + item.defect
      let (root, expected) = try DatasetFixture.make(
        "hdf5", in: directory.url, name: name, ["--layout", item.layout, "--defect", item.defect])
      let defect = try #require(expected["defect"] as? [String: Any])
      let result = try prepare([root.path, "--name", name, "--instruction", "x"])
      #expect(result.status == 65, "\(name): \(result.text)")
      let error = result.document["error"] as? [String: Any] ?? [:]
      let codes = findings(result.document).compactMap { $0["code"] as? String }
      let text =
        (error["message"] as? String ?? "") + " "
        + findings(result.document).compactMap { $0["message"] as? String }.joined(separator: " ")
      #expect(codes.contains(item.expect) || text.contains(item.expect), "\(name): \(text)")
      if item.defect != "no_actions" {
        // The message names the dataset (h5py's path without the leading slash).
        let key = String((defect["key"] as? String ?? "?").drop { $0 == "/" })
        #expect(text.contains(key), "\(name): \(text) lacks \(key)")
      }
    }
    // A camera of the first demo missing from a later one.
    let (partial, partialExpected) = try DatasetFixture.make(
      "hdf5", in: directory.url, name: "partial", ["--layout", "robomimic", "--episodes", "2"])
    let camera = try #require((partialExpected["cameras"] as? [String])?.sorted().first)
    let file = partial.appendingPathComponent("demo.hdf5").path
    let removed = try ProcessRunner.run(
      try #require(TestPaths.python),
      [
        "-c", "import h5py, sys; f = h5py.File(sys.argv[1], 'a'); del f[sys.argv[2]]", file,
        "data/demo_1/obs/" + camera,
      ])
    #expect(removed.status == 0, "\(removed.standardError)")
    let result = try prepare([partial.path, "--name", "partial", "--instruction", "x"])
    #expect(result.status == 65, "\(result.text)")
    #expect(
      findings(result.document).contains {
        $0["code"] as? String == "missing_camera"
          && ($0["message"] as? String ?? "").contains("data/demo_1/obs/" + camera)
      }, "\(findings(result.document))")
    let others = (partialExpected["cameras"] as? [String] ?? []).sorted().dropFirst().joined(separator: ", ")
    #expect(
      findings(result.document).contains {
        ($0["message"] as? String ?? "").hasSuffix("(cameras this episode has: \(others))")
      }, "\(findings(result.document))")

    let list = try vlatune.run(["dataset", "list", "--json"])
    #expect((try list.json()["datasets"] as? [Any])?.isEmpty == true)
  }

  @Test func liberoFileMatchesH5pyWithItsInstructionAndMasks() throws {
    let (root, expected) = try DatasetFixture.make(
      "hdf5", in: directory.url, name: "libero",
      ["--layout", "robomimic", "--obs-keys", "libero", "--instruction-attr", "--episodes", "12"])
    let (status, document, text) = try prepare([root.path, "--name", "libero"])
    #expect(status == 0, "\(text)")
    #expect((document["source"] as? [String: Any])?["format"] as? String == "hdf5")
    #expect(document["instructions"] as? [String] == [expected["instruction"] as? String ?? "?"])
    let references = try #require(expected["episodes"] as? [[String: Any]])
    #expect(document["episodes"] as? Int == references.count)
    let packaged = try episodes(document)
    for reference in references {
      let name = try #require(reference["name"] as? String)
      let mine = try #require(packaged[name], "\(name) missing")
      #expect(matches(mine.actions, reference["actions"] as? [[Double]] ?? []), "\(name) actions")
      #expect(matches(mine.states, reference["states"] as? [[Double]] ?? []), "\(name) states")
    }
    let cameras = (document["cameras"] as? [[String: Any]] ?? []).map { $0["key"] as? String }
    #expect(cameras == (expected["cameras"] as? [String])?.sorted())
    try expectSameImages(document, references)

    let mask = try #require((expected["mask"] as? [String: Any])?["train"] as? [String])
    let train = try prepare([root.path, "--name", "libero-train", "--filter-key", "train"])
    #expect(train.status == 0, "\(train.text)")
    #expect(Set(try episodes(train.document).keys) == Set(mask))
    // LIBERO's raw gripper is -1 open / +1 close; OpenVLA's convention is 1 open / 0 closed.
    let openVLA = try prepare([root.path, "--name", "libero-open1", "--gripper-convention", "open1"])
    #expect(openVLA.status == 0, "\(openVLA.text)")
    let converted = try episodes(openVLA.document)
    for reference in references {
      let name = reference["name"] as? String ?? ""
      let raw = (reference["actions"] as? [[Double]] ?? []).map { $0.last ?? 0 }
      let dims = (reference["actions"] as? [[Double]])?.first?.count ?? 1
      let mine = stride(from: dims - 1, to: converted[name]?.actions.count ?? 0, by: dims).map {
        Double(converted[name]!.actions[$0])
      }
      #expect(mine == raw.map { 1 - max(0, min(1, ($0 + 1) / 2)) }, "\(name)")
    }

    let unknown = try prepare([root.path, "--name", "x", "--filter-key", "nope"])
    #expect(unknown.status == 64)
    #expect(unknown.text.contains("train, valid") || unknown.text.contains("valid, train"), "\(unknown.text)")
  }

  @Test func alohaEpisodesRawAndCompressed() throws {
    for compressed in [false, true] {
      let name = compressed ? "aloha-jpeg" : "aloha-raw"
      let (root, expected) = try DatasetFixture.make(
        "hdf5", in: directory.url, name: name,
        ["--layout", "aloha", "--episodes", "3"] + (compressed ? ["--compress"] : []))
      let missing = try prepare([root.path, "--name", name])
      #expect(missing.status == 65)
      #expect(findings(missing.document).contains { $0["code"] as? String == "missing_instruction" })

      let (status, document, text) = try prepare([root.path, "--name", name, "--instruction", "fold", "--fps", "50"])
      #expect(status == 0, "\(text)")
      let references = try #require(expected["episodes"] as? [[String: Any]])
      let packaged = try episodes(document)
      for reference in references {
        let episode = try #require(reference["name"] as? String)
        let mine = try #require(packaged[episode])
        #expect(matches(mine.actions, reference["actions"] as? [[Double]] ?? []), "\(episode)")
        #expect(matches(mine.states, reference["states"] as? [[Double]] ?? []), "\(episode)")
      }
      let sizes = try #require(expected["image_sizes"] as? [String: [Int]])
      for camera in document["cameras"] as? [[String: Any]] ?? [] {
        let key = camera["key"] as? String ?? ""
        #expect([camera["height"] as? Int ?? 0, camera["width"] as? Int ?? 0] == sizes[key], "\(key)")
        #expect(camera["encoding"] as? String == "jpeg")
      }
      try expectSameImages(document, references)
    }
  }

  @Test func rotationChangesTheFramesAndUnknownCamerasAreRefused() throws {
    let (root, expected) = try DatasetFixture.make(
      "hdf5", in: directory.url, name: "rot", ["--layout", "aloha", "--episodes", "2", "--cameras", "cam_high"])
    let plain = try prepare([root.path, "--name", "plain", "--instruction", "x"])
    let turned = try prepare([root.path, "--name", "turned", "--instruction", "x", "--rotate-180", "cam_high"])
    #expect(plain.status == 0 && turned.status == 0, "\(plain.text) \(turned.text)")
    // Turned by 180°: the grid's cells in reverse order (each cell's RGB kept).
    let references = try #require(expected["episodes"] as? [[String: Any]])
    let rotated = references.map { reference in
      var copy = reference
      let cells = reference["image_cell_means"] as? [String: [[Double]]] ?? [:]
      copy["image_cell_means"] = cells.mapValues { frames in
        frames.map { values in
          stride(from: values.count - 3, through: 0, by: -3).flatMap { values[$0..<($0 + 3)] }
        }
      }
      return copy
    }
    try expectSameImages(turned.document, rotated)
    // The check tells frames apart: the unturned package does not pass as the turned one.
    var turnedExpectation: PackageImages.Means = [:]
    for reference in rotated {
      turnedExpectation[reference["name"] as? String ?? ""] =
        reference["image_cell_means"] as? [String: [[Double]]] ?? [:]
    }
    let plainPath = try #require(plain.document["path"] as? String)
    #expect(!(try PackageImages.mismatches(plainPath, expected: turnedExpectation, tolerance: 40)).isEmpty)
    let fingerprint = { (document: [String: Any]) in (document["source"] as? [String: Any])?["fingerprint"] as? String }
    #expect(fingerprint(plain.document) != nil)
    #expect(fingerprint(plain.document) != fingerprint(turned.document))
    let bad = try prepare([root.path, "--name", "bad", "--instruction", "x", "--rotate-180", "cam_low"])
    #expect(bad.status == 64)
    #expect(bad.text.contains("cam_high"))
  }

  @Test func filesOfAnotherShapeAreInvalidData() throws {
    let python = try #require(TestPaths.python)
    let odd = directory.appending("odd")
    try FileManager.default.createDirectory(at: odd, withIntermediateDirectories: true)
    let made = try ProcessRunner.run(
      python,
      [
        "-c", "import h5py, numpy as np, sys; f = h5py.File(sys.argv[1], 'w'); f['weights'] = np.zeros(3)",
        odd.appendingPathComponent("model.h5").path,
      ])
    #expect(made.status == 0, "\(made.standardError)")
    let result = try prepare([odd.path, "--format", "hdf5"])
    #expect(result.status == 65)
    #expect(result.text.contains("neither a robomimic file"), "\(result.text)")
    let notHDF5 = directory.appending("notes.hdf5")
    try Data("hello".utf8).write(to: notHDF5)
    let garbage = try prepare([notHDF5.path, "--format", "hdf5"])
    #expect(garbage.status == 65)
    #expect(garbage.text.contains("notes.hdf5"))
    let list = try vlatune.run(["dataset", "list", "--json"])
    #expect((try list.json()["datasets"] as? [Any])?.isEmpty == true)
  }
}
