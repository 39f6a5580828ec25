import Foundation
import VlatuneArchive
import VlatuneSupport

/// A folder of simulator dumps as a ``DatasetSource``: one `.npz` per episode (`np.savez` or
/// `np.savez_compressed`) with arrays for the actions (steps × dims), the state and uint8
/// images (steps × H × W × 3, or steps + 1 with the final observation, which is dropped), and an
/// optional `meta.json` (`instruction`, `fps`) for the whole folder.
package final class NPZSource: DatasetSource {
  let path: String
  let options: SourceOptions
  package var format: SourceFormat { .npz }

  private var files: [String] = []
  private(set) var cameras: [(slot: String, key: String)] = []
  private var fileOfEpisode: [String: String] = [:]

  /// The Hz assumed when neither `meta.json` nor `--fps` gives one.
  static let assumedFPS = 10.0
  /// The largest `.npz` member read (one episode's camera).
  static let memberLimit = 8 << 30

  package init(path: String, options: SourceOptions) {
    self.path = path
    self.options = options
  }

  /// The `.npz` files of a folder, numerically sorted.
  package static func files(at path: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
      .filter { $0.hasSuffix(".npz") }
      .sorted { $0.compare($1, options: .numeric) == .orderedAscending }
  }

  /// Whether `path` is a folder of `.npz` files (for `--format auto`).
  package static func isPresent(in path: String) -> Bool { FileIO.kind(path) == .directory && !files(at: path).isEmpty }

  /// Every array of one file, by name (`actions.npy` → `actions`).
  private func arrays(_ file: String, wanted: ((String) -> Bool)? = nil) throws -> [String: NPYArray] {
    var result: [String: NPYArray] = [:]
    do {
      let reader = try ArchiveReader(path: path + "/" + file)
      while let entry = try reader.next() {
        let name = entry.path.hasSuffix(".npy") ? String(entry.path.dropLast(4)) : entry.path
        guard entry.kind == .regular, wanted?(name) ?? true else {
          try reader.skip()
          continue
        }
        do {
          result[name] = try NPYArray(try reader.readAll(limit: Self.memberLimit))
        } catch let problem as NPYArray.Problem {
          throw SourceFileError.file(file, "array '\(name)' \(problem)")
        }
      }
    } catch let error as ArchiveError {
      throw SourceFileError.file(file, "is not a readable .npz (zip) file: \(error)")
    }
    return result
  }

  package func inventory(cancellation: CancellationToken) throws -> SourceInventory {
    do {
      return try readInventory(cancellation: cancellation)
    } catch let error as SourceFileError {
      throw error.vlatuneError
    }
  }

  private func readInventory(cancellation: CancellationToken) throws -> SourceInventory {
    files = Self.files(at: path)
    guard !files.isEmpty else { throw SourceFileError.file(path, "holds no .npz files") }
    var meta: JSONValue?
    if let bytes = FileManager.default.contents(atPath: path + "/meta.json") {
      do {
        meta = try JSONParser.parse([UInt8](bytes))
      } catch {
        throw SourceFileError.file("meta.json", "is not valid JSON: \(error)")
      }
    }
    var inventory = SourceInventory()
    let metaFPS = meta?["fps"]?.numberValue
    let fps = options.fps ?? metaFPS ?? Self.assumedFPS
    if options.fps == nil && metaFPS == nil {
      inventory.diagnostics.append(
        Diagnostic(
          .warning, code: "fps_assumed",
          message:
            "neither meta.json nor --fps gives the control frequency; \(Self.assumedFPS) Hz was assumed (pass --fps)"))
    }
    let instruction = options.instruction ?? meta?["instruction"]?.stringValue
    var dropped: [String] = []
    var dropNoops = 0
    for file in files {
      try cancellation.check()
      inventory.totalBytes += FileIO.size(path + "/" + file)
      let name = String(file.dropLast(4))
      // Pass 1 reads every array (image shapes give the cameras and frame counts); the pixels
      // are dropped with `arrays` and read again, episode by episode, in pass 2.
      let arrays = try arrays(file)
      if inventory.keys == nil {
        inventory.keys = try chooseKeys(arrays, file: file)
        let available = arrays.filter { $0.value.type == "u1" && $0.value.shape.count == 4 && $0.value.shape[3] == 3 }
          .keys.sorted()
        cameras = try CameraMap.select(options.cameraMap, available: available)
        for key in options.rotate180 where !available.contains(key) {
          throw VlatuneError.invalidArgument(
            param: "--rotate-180",
            message: "camera '\(key)' is not in the dataset; available: \(available.joined(separator: ", "))")
        }
      }
      guard let keys = inventory.keys else { continue }
      guard let action = arrays[keys.action], action.shape.count == 2, action.isNumeric else {
        throw SourceFileError.file(
          file, "has no '\(keys.action)' array of steps × dims (arrays: \(Self.listing(arrays)))")
      }
      let steps = action.rows
      let actions = action.doubles()
      var parts: [(values: [Double], width: Int)] = []
      for segment in keys.state {
        guard let array = arrays[segment.key], array.isNumeric, array.rows == steps, array.width == segment.size else {
          inventory.diagnostics.append(
            Diagnostic(
              .error, code: "length_mismatch",
              message: "\(file): '\(segment.key)' must be \(steps) × \(segment.size) like the first episode's "
                + "(arrays: \(Self.listing(arrays)))", episode: name, field: segment.key))
          continue
        }
        parts.append((array.doubles(), array.width))
      }
      let stateDim = parts.reduce(0) { $0 + $1.width }
      let states = RowConcatenation.rows(parts, count: steps)
      for camera in cameras {
        let frames = arrays[camera.key]?.rows ?? 0
        if frames == steps + 1 {
          if dropped.last != name { dropped.append(name) }
        } else if frames != steps {
          inventory.diagnostics.append(
            Diagnostic(
              .error, code: "length_mismatch",
              message: "\(file): camera '\(camera.key)' has \(frames) frames for \(steps) actions; it "
                + "needs one per action (or one more: the final observation, which is dropped)",
              episode: name, field: camera.slot))
        }
      }
      if instruction == nil {
        inventory.diagnostics.append(
          Diagnostic(
            .error, code: "missing_instruction",
            message: "no language instruction: add \"instruction\" to \(path)/meta.json or pass --instruction TEXT",
            episode: name))
      }
      if let bad = actions.firstIndex(where: { !$0.isFinite }) {
        inventory.diagnostics.append(
          Diagnostic(
            .error, code: "non_finite", message: "action[\(bad % action.width)] is \(actions[bad])",
            episode: name, step: bad / action.width, field: "action[\(bad % action.width)]"))
      }
      if steps < 2 {
        inventory.diagnostics.append(
          Diagnostic(
            .error, code: steps == 0 ? "empty_episode" : "one_step_episode",
            message: "the episode has \(steps) step(s); an episode needs at least 2", episode: name))
      }
      let numericDigest = EpisodeRecord.numericDigest(actions: actions, states: states)
      let metadata = SHA256Hasher()
      metadata.update("npz\u{0}\(file)\u{0}\(instruction ?? "")\u{0}\(fps)\u{0}\(numericDigest)")
      var record = EpisodeRecord(
        name: name, directory: "", instruction: instruction ?? "", fps: fps, cameras: cameras.map(\.slot),
        stepCount: steps, actionDim: action.width, stateDim: stateDim, actions: actions, states: states,
        timestamps: (0..<steps).map { Double($0) / fps },
        imagePaths: ImagePaths((0..<steps).flatMap { step in cameras.map { "\(file) \($0.key)[\(step)]" } }),
        metadataDigest: metadata.hexDigest(), numericDigest: numericDigest)
      if options.dropNoops {
        let kept = NoopFilter.keptSteps(actions: actions, dimension: action.width)
        dropNoops += steps - kept.count
        record = record.keepingSteps(kept)
        record.imagePaths = ImagePaths(kept.flatMap { step in cameras.map { "\(file) \($0.key)[\(step)]" } })
        keptSteps[name] = kept
      }
      fileOfEpisode[name] = file
      inventory.episodes.append(record)
    }
    try GripperConversion.apply(options, to: &inventory)
    if !dropped.isEmpty {
      inventory.diagnostics.append(
        Diagnostic(
          .warning, code: "final_frame_dropped",
          message: "\(dropped.count) episode(s) (\(dropped.prefix(3).joined(separator: ", "))) hold one "
            + "frame more than actions: the final observation, after the last action, was dropped"))
    }
    if dropNoops > 0 {
      inventory.diagnostics.append(
        Diagnostic(
          .warning, code: "noops_dropped",
          message: "--drop-noops removed \(dropNoops) no-op steps (‖a[:-1]‖ < 1e-4, gripper unchanged)"))
    }
    return inventory
  }

  private var keptSteps: [String: [Int]] = [:]

  /// `name (shape dtype)` for every array, for messages.
  private static func listing(_ arrays: [String: NPYArray]) -> String {
    arrays.keys.sorted().map { "\($0) \(arrays[$0]!.shape) \(arrays[$0]!.type)" }.joined(separator: ", ")
  }

  /// The action and state arrays: `--action-key` / `--state-keys`, else `actions`/`action` and
  /// the first of `state`, `states`, `qpos`, `proprio`.
  private func chooseKeys(_ arrays: [String: NPYArray], file: String) throws -> SourceKeys {
    let vectors = arrays.filter {
      $0.value.isNumeric && $0.value.type != "u1" && (1...2).contains($0.value.shape.count)
    }
    .keys.sorted()
    let action: String
    if let given = options.actionKey {
      guard vectors.contains(given) else {
        throw VlatuneError.invalidArgument(
          param: "--action-key", message: "\(file) has no numeric array '\(given)'; arrays: \(Self.listing(arrays))")
      }
      action = given
    } else {
      guard let found = ["actions", "action"].first(where: { vectors.contains($0) }) else {
        throw SourceFileError.file(
          file, "has no 'actions' or 'action' array; name it with --action-key (arrays: \(Self.listing(arrays)))")
      }
      action = found
    }
    let state: [String]
    if let given = options.stateKeys {
      for key in given where !vectors.contains(key) || key == action {
        throw VlatuneError.invalidArgument(
          param: "--state-keys",
          message: key == action
            ? "'\(key)' is the action array; the state must not hold the actions"
            : "\(file) has no numeric array '\(key)'; arrays: \(Self.listing(arrays))")
      }
      state = given
    } else {
      state = ["state", "states", "qpos", "proprio"].first(where: { vectors.contains($0) }).map { [$0] } ?? []
    }
    return SourceKeys(
      action: action, state: state.map { ($0, arrays[$0]!.width) },
      others: vectors.filter { $0 != action && !state.contains($0) })
  }

  package func readImages(
    of episodes: [EpisodeRecord], cancellation: CancellationToken,
    deliver: (_ index: Int, _ images: [[UInt8]], _ bytesRead: Int64) throws -> Void
  ) throws {
    var bytesRead: Int64 = 0
    let keys = Set(cameras.map(\.key))
    for (index, episode) in episodes.enumerated() {
      try cancellation.check()
      guard let file = fileOfEpisode[episode.name] else { continue }
      let steps = keptSteps[episode.name] ?? Array(0..<episode.stepCount)
      var images = [[UInt8]](repeating: [], count: steps.count * cameras.count)
      do {
        let arrays = try arrays(file) { keys.contains($0) }
        for (cameraIndex, camera) in cameras.enumerated() {
          guard let array = arrays[camera.key] else { continue }
          let (height, width) = (array.shape[1], array.shape[2])
          let frameBytes = height * width * 3
          for (position, step) in steps.enumerated() {
            var pixels = Array(array.bytes[(step * frameBytes)..<((step + 1) * frameBytes)])
            if options.rotate180.contains(camera.key) { pixels = JPEGCodec.rotate180(rgb: pixels) }
            images[position * cameras.count + cameraIndex] = try JPEGCodec.encode(
              rgb: pixels, width: width, height: height)
          }
        }
      } catch let error as SourceFileError {
        throw error.vlatuneError
      }
      bytesRead += FileIO.size(path + "/" + file)
      try deliver(index, images, bytesRead)
    }
  }
}
