import Foundation
import VlatuneSupport

/// HDF5 demonstrations as a ``DatasetSource``: robomimic / LIBERO files (`data/demo_N/actions`,
/// `obs/<key>`, `mask/<filter>`) and ALOHA / ACT episodes (one file each: `/action`,
/// `/observations/qpos`, `/observations/images/<cam>`, raw or JPEG-compressed).
package final class HDF5Source: DatasetSource {
  /// The two layouts read.
  enum Layout: String {
    case robomimic
    case aloha
  }

  /// One episode's place in the files, for pass 2.
  private struct Plan {
    var file: String
    /// The group holding the episode (`data/demo_3`, or `` for an ALOHA file).
    var group: String
    var layout: Layout
    var steps: [Int]
    /// Whether the ALOHA images are JPEG buffers.
    var compressed: Bool
    var bytes: Int64
  }

  let path: String
  let options: SourceOptions
  package var format: SourceFormat { .hdf5 }

  private var files: [String] = []
  private(set) var cameras: [(slot: String, key: String)] = []
  private var plans: [String: Plan] = [:]
  /// The keys of the first episode (every episode reads the same ones).
  private var keys: SourceKeys?
  private var warnedExcluded = false

  /// Default control frequencies when neither the file nor `--fps` gives one.
  static let robomimicFPS = 20.0
  static let alohaFPS = 50.0

  package init(path: String, options: SourceOptions) {
    self.path = path
    self.options = options
  }

  /// The HDF5 files of a source: the file itself, or a directory's `*.hdf5` / `*.h5` files.
  package static func files(at path: String) -> [String] {
    guard FileIO.kind(path) == .directory else { return [path] }
    return ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
      .filter { $0.hasSuffix(".hdf5") || $0.hasSuffix(".h5") }
      .sorted { $0.compare($1, options: .numeric) == .orderedAscending }
      .map { path + "/" + $0 }
  }

  /// Whether `path` holds HDF5 files (for `--format auto`): the HDF5 signature on the first.
  package static func isPresent(in path: String) -> Bool {
    guard let first = files(at: path).first, let handle = FileHandle(forReadingAtPath: first),
      let head = try? handle.read(upToCount: 8)
    else { return false }
    return [UInt8](head) == [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]
  }

  private func relative(_ file: String) -> String {
    file.hasPrefix(path + "/") ? String(file.dropFirst(path.count + 1)) : SourcePath.basename(file)
  }

  package func inventory(cancellation: CancellationToken) throws -> SourceInventory {
    files = Self.files(at: path)
    guard !files.isEmpty else {
      throw VlatuneError.invalidDataset(
        message: "\(path) holds no .hdf5 or .h5 files", findings: [])
    }
    var inventory = SourceInventory()
    var dropped = 0
    var assumed: [Layout: Double] = [:]
    var available: [String]?
    for file in files {
      try cancellation.check()
      let name = relative(file)
      inventory.totalBytes += FileIO.size(file)
      let hdf5 = try Self.open(file, name: name)
      do {
        let layout = try Self.layout(hdf5, name: name)
        let episodes = try layout == .robomimic ? robomimicGroups(hdf5, name: name) : [""]
        let fileCameras = try cameraKeys(hdf5, layout: layout, group: episodes.first ?? "")
        if available == nil {
          available = fileCameras
          cameras = try CameraMap.select(options.cameraMap, available: fileCameras)
          for key in options.rotate180 where !fileCameras.contains(key) {
            throw VlatuneError.invalidArgument(
              param: "--rotate-180",
              message: "camera '\(key)' is not in the dataset; available: \(fileCameras.joined(separator: ", "))")
          }
        }
        let (fps, fpsAssumed) = try frequency(hdf5, layout: layout)
        if fpsAssumed { assumed[layout] = fps }
        let fileInstruction = options.instruction == nil ? try Self.instruction(hdf5, layout: layout) : nil
        for group in episodes {
          let instruction =
            try options.instruction ?? Self.episodeInstruction(hdf5, group: group) ?? fileInstruction
          let episodeName =
            layout == .aloha
            ? String(name.dropLast(name.hasSuffix(".h5") ? 3 : 5))
            : (files.count > 1 ? name + "/" : "") + SourcePath.basename(group)
          var record = try read(
            hdf5, layout: layout, group: group, name: episodeName, fps: fps,
            instruction: instruction, source: name, diagnostics: &inventory.diagnostics)
          var kept = Array(0..<record.stepCount)
          if options.dropNoops {
            kept = NoopFilter.keptSteps(actions: record.actions, dimension: record.actionDim)
            dropped += record.stepCount - kept.count
            record = record.keepingSteps(kept)
          }
          record.imagePaths = ImagePaths(
            kept.flatMap { step in
              cameras.map { "\(name) \(group.isEmpty ? "" : group + " ")step \(step) \($0.key)" }
            })
          let compressFlag = layout == .aloha ? try hdf5.number("compress") : nil
          let compressed = (compressFlag ?? 0) != 0
          plans[record.name] = Plan(
            file: file, group: group, layout: layout, steps: kept, compressed: compressed,
            bytes: FileIO.size(file) / Int64(max(episodes.count, 1)))
          inventory.episodes.append(record)
        }
      } catch let problem as HDF5File.Problem {
        throw VlatuneError.invalidDataset(message: "\(name): \(problem)", findings: [])
      }
    }
    inventory.keys = keys
    try GripperConversion.apply(options, to: &inventory)
    for (layout, fps) in assumed {
      inventory.diagnostics.append(
        Diagnostic(
          .warning, code: "fps_assumed",
          message: "the \(layout.rawValue) files record no control frequency; \(fps) Hz was "
            + "assumed (pass --fps)"))
    }
    if dropped > 0 {
      inventory.diagnostics.append(
        Diagnostic(
          .warning, code: "noops_dropped",
          message: "--drop-noops removed \(dropped) no-op steps (‖a[:-1]‖ < 1e-4, gripper unchanged)"))
    }
    return inventory
  }

  /// Which layout a file has.
  static func layout(_ file: HDF5File, name: String) throws -> Layout {
    if file.kind("data") == 1 { return .robomimic }
    if file.kind("action") == 2 && file.kind("observations") == 1 { return .aloha }
    if file.kind("observations") == 1 {
      throw HDF5File.Problem(
        message: "looks like an ALOHA episode (/observations) but has no /action dataset "
          + "(steps × dims); every episode file needs its actions")
    }
    throw HDF5File.Problem(
      message: "is neither a robomimic file (data/demo_N/actions) nor an ALOHA episode "
        + "(/action, /observations/qpos, /observations/images/<camera>)")
  }

  /// robomimic: the demo groups, numerically sorted, filtered by `mask/<filter_key>`.
  private func robomimicGroups(_ file: HDF5File, name: String) throws -> [String] {
    var demos = try file.children("data").filter { $0.hasPrefix("demo") }
    if let key = options.filterKey {
      guard file.kind("mask/" + key) == 2 else {
        let masks = file.kind("mask") == 1 ? try file.children("mask") : []
        throw VlatuneError.invalidArgument(
          param: "--filter-key",
          message: "\(name) has no mask/\(key); available: "
            + (masks.isEmpty ? "none" : masks.joined(separator: ", ")))
      }
      let wanted = Set(try file.strings("mask/" + key))
      demos = demos.filter { wanted.contains($0) }
    }
    guard !demos.isEmpty else { throw HDF5File.Problem(message: "has no demos under data/") }
    return demos.map { "data/" + $0 }
  }

  /// Image datasets: rank-4 uint8 arrays under `obs/` (robomimic), or the children of
  /// `observations/images` (ALOHA; raw N×H×W×3 or JPEG buffers N×L).
  private func cameraKeys(_ file: HDF5File, layout: Layout, group: String) throws -> [String] {
    switch layout {
    case .aloha:
      return file.kind("observations/images") == 1 ? try file.children("observations/images") : []
    case .robomimic:
      // Every steps × H × W × 3 array; its element type is checked for the cameras chosen.
      return try file.children(group + "/obs").filter { key in
        guard let shape = try? file.shape(group + "/obs/" + key) else { return false }
        return shape.dims.count == 4 && shape.dims[3] == 3
      }.sorted()
    }
  }

  /// The control frequency: `--fps`, robosuite's `env_args.env_kwargs.control_freq`, or the
  /// layout's usual rate (flagged as assumed).
  private func frequency(_ file: HDF5File, layout: Layout) throws -> (Double, Bool) {
    if let fps = options.fps { return (fps, false) }
    if layout == .robomimic, let text = try file.attribute("env_args", of: "data"),
      let value = try? JSONParser.parse(text),
      let control = value["env_kwargs"]?["control_freq"]?.numberValue, control > 0
    {
      return (control, false)
    }
    return (layout == .robomimic ? Self.robomimicFPS : Self.alohaFPS, true)
  }

  /// The file's instruction: LIBERO's `data.attrs["problem_info"]["language_instruction"]` (a
  /// string or a list of words), else robosuite's `data.attrs["env_args"]` (`lang`,
  /// `language_instruction` or `instruction`, at its top or in `env_kwargs`).
  static func instruction(_ file: HDF5File, layout: Layout) throws -> String? {
    guard layout == .robomimic else { return nil }
    if let text = try file.attribute("problem_info", of: "data"), let value = try? JSONParser.parse(text),
      let found = Self.text(value["language_instruction"])
    {
      return found
    }
    if let text = try file.attribute("env_args", of: "data"), let value = try? JSONParser.parse(text) {
      for node in [value, value["env_kwargs"]] {
        for key in Self.instructionKeys {
          if let found = Self.text(node?[key]) { return found }
        }
      }
    }
    return nil
  }

  /// RoboCasa's per-demo instruction: `data/demo_N.attrs["ep_meta"]["lang"]`.
  static func episodeInstruction(_ file: HDF5File, group: String) throws -> String? {
    guard !group.isEmpty, let text = try file.attribute("ep_meta", of: group),
      let value = try? JSONParser.parse(text)
    else { return nil }
    return Self.instructionKeys.lazy.compactMap { Self.text(value[$0]) }.first
  }

  private static let instructionKeys = ["lang", "language_instruction", "instruction"]

  /// A non-empty string, or a list of strings joined by spaces.
  private static func text(_ value: JSONValue?) -> String? {
    let found = value?.stringValue ?? value?.arrayValue?.compactMap(\.stringValue).joined(separator: " ")
    return found?.isEmpty == false ? found : nil
  }

  /// The actions' dataset in an episode's group: `--action-key`, else `actions` (robomimic) or
  /// `action` (ALOHA).
  static func actionKey(_ options: SourceOptions, layout: Layout) -> String {
    options.actionKey ?? (layout == .aloha ? "action" : "actions")
  }

  /// Low-dimensional float datasets (steps × dims, or steps) under `group`, sorted.
  private func stateCandidates(_ file: HDF5File, group: String) throws -> [String] {
    guard file.kind(group) == 1 else { return [] }
    return try file.children(group).sorted().filter { key in
      guard let shape = try? file.shape(group + "/" + key) else { return false }
      return (shape.dims.count == 2 || shape.dims.count == 1) && shape.typeClass == 2
    }
  }

  /// The state datasets of an episode: `--state-keys` (each checked), else ALOHA's `qpos`, else
  /// every low-dimensional float observation except one named like the actions.
  private func stateKeys(
    _ file: HDF5File, layout: Layout, group: String, source: String, diagnostics: inout [Diagnostic]
  ) throws -> [String] {
    let available = try stateCandidates(file, group: group)
    if let wanted = options.stateKeys {
      let prefix = layout == .aloha ? "observations/" : "obs/"
      let names = wanted.map { $0.hasPrefix(prefix) ? String($0.dropFirst(prefix.count)) : $0 }
      for (given, key) in zip(wanted, names) where !available.contains(key) {
        throw VlatuneError.invalidArgument(
          param: "--state-keys",
          message: "'\(given)' is not a low-dimensional float dataset in \(source) \(group)/; "
            + "available: \(available.isEmpty ? "none" : available.map { prefix + $0 }.joined(separator: ", "))")
      }
      return names
    }
    if layout == .aloha { return available.contains("qpos") ? ["qpos"] : [] }
    let actionKey = Self.actionKey(options, layout: layout)
    let actionNames: Set<String> = [SourcePath.basename(actionKey), "action", "actions"]
    let excluded = available.filter { actionNames.contains($0) }
    if !excluded.isEmpty && !warnedExcluded {
      warnedExcluded = true
      diagnostics.append(
        Diagnostic(
          .warning, code: "state_key_excluded",
          message: "\(excluded.map { "obs/" + $0 }.joined(separator: ", ")) left out of the state: named "
            + "like the actions, it would let the policy read its target (choose keys with --state-keys)"))
    }
    return available.filter { key in
      !actionNames.contains(key) && (try? file.shape(group + "/" + key))?.dims.count == 2
    }
  }

  /// Reads one episode's numbers.
  private func read(
    _ file: HDF5File, layout: Layout, group: String, name: String, fps: Double,
    instruction: String?, source: String, diagnostics: inout [Diagnostic]
  ) throws -> EpisodeRecord {
    let prefix = group.isEmpty ? "" : group + "/"
    let actionKey = Self.actionKey(options, layout: layout)
    let (actions, actionShape) = try file.doubles(prefix + actionKey)
    guard actionShape.dims.count == 2 else {
      throw HDF5File.Problem(message: "\(prefix)\(actionKey) must be steps × dims, got \(actionShape.dims)")
    }
    let steps = actionShape.dims[0]
    let stateGroup = layout == .aloha ? "observations" : prefix + "obs"
    let chosen = try stateKeys(file, layout: layout, group: stateGroup, source: source, diagnostics: &diagnostics)
    var columns: [(values: [Double], width: Int)] = []
    var segments: [(key: String, size: Int)] = []
    for key in chosen {
      let dataset = stateGroup + "/" + key
      let shape = try file.shape(dataset)
      guard shape.dims.first == steps else {
        diagnostics.append(
          Diagnostic(
            .error, code: "length_mismatch",
            message: "\(source): \(dataset) has \(shape.dims.first ?? 0) rows but \(prefix)\(actionKey) has "
              + "\(steps); every observation needs one row per action",
            episode: name, field: (layout == .aloha ? "observations/" : "obs/") + key))
        continue
      }
      let (values, _) = try file.doubles(dataset)
      let width = shape.dims.dropFirst().reduce(1, *)
      columns.append((values, width))
      segments.append(((layout == .aloha ? "observations/" : "obs/") + key, width))
    }
    let stateDim = columns.reduce(0) { $0 + $1.width }
    let states = RowConcatenation.rows(columns, count: steps)
    if keys == nil {
      let prefixed = layout == .aloha ? "observations/" : "obs/"
      let available = try stateCandidates(file, group: stateGroup).map { prefixed + $0 }
      keys = SourceKeys(
        action: actionKey, state: segments, others: available.filter { key in !segments.contains { $0.key == key } })
    }
    for camera in cameras {
      let dataset = layout == .aloha ? "observations/images/" + camera.key : prefix + "obs/" + camera.key
      guard file.kind(dataset) == 2 else {
        let present = try cameraKeys(file, layout: layout, group: group)
        diagnostics.append(
          Diagnostic(
            .error, code: "missing_camera",
            message: "\(source): \(dataset) is missing, but camera '\(camera.key)' is in the first "
              + "episode; record it in every episode or leave it out with --camera-map (cameras "
              + "this episode has: \(present.isEmpty ? "none" : present.joined(separator: ", ")))",
            episode: name, field: camera.slot))
        continue
      }
      let shape = try file.shape(dataset)
      let frames = shape.dims.first ?? 0
      if shape.dims.count == 4, shape.typeClass != 1 || shape.elementSize != 1 {
        diagnostics.append(
          Diagnostic(
            .error, code: "image_dtype",
            message: "\(source): \(dataset) holds \(shape.typeClass == 2 ? "float" : "non-uint8") "
              + "\(shape.elementSize)-byte pixels; vlatune reads uint8 RGB frames (store them as "
              + "uint8, e.g. (x * 255).astype('uint8'), or leave the camera out with --camera-map)",
            episode: name, field: camera.slot))
      }
      if frames != steps {
        diagnostics.append(
          Diagnostic(
            .error, code: "length_mismatch",
            message: "\(source): \(dataset) has \(frames) frames but there are \(steps) actions; "
              + "every camera needs one frame per action",
            episode: name, field: camera.slot))
      }
    }
    if instruction == nil {
      diagnostics.append(
        Diagnostic(
          .error, code: "missing_instruction",
          message: "\(source) records no language instruction; pass --instruction TEXT",
          episode: name))
    }
    if steps < 2 {
      diagnostics.append(
        Diagnostic(
          .error, code: steps == 0 ? "empty_episode" : "one_step_episode",
          message: "the episode has \(steps) step(s); an episode needs at least 2", episode: name))
    }
    if let bad = actions.firstIndex(where: { !$0.isFinite }) {
      let dim = bad % actionShape.dims[1]
      diagnostics.append(
        Diagnostic(
          .error, code: "non_finite", message: "action[\(dim)] is \(actions[bad])",
          episode: name, step: bad / actionShape.dims[1], field: "action[\(dim)]"))
    }
    let numericDigest = EpisodeRecord.numericDigest(actions: actions, states: states)
    let metadata = SHA256Hasher()
    metadata.update("hdf5\u{0}\(source)\u{0}\(group)\u{0}\(instruction ?? "")\u{0}\(numericDigest)")
    return EpisodeRecord(
      name: name, directory: "", instruction: instruction ?? "", fps: fps,
      cameras: cameras.map(\.slot), stepCount: steps, actionDim: actionShape.dims[1],
      stateDim: stateDim, actions: actions, states: states,
      timestamps: (0..<steps).map { Double($0) / fps }, imagePaths: [],
      metadataDigest: metadata.hexDigest(), numericDigest: numericDigest)
  }

  package func readImages(
    of episodes: [EpisodeRecord], cancellation: CancellationToken,
    deliver: (_ index: Int, _ images: [[UInt8]], _ bytesRead: Int64) throws -> Void
  ) throws {
    var bytesRead: Int64 = 0
    // The episodes of one robomimic file follow each other: the file is opened once for them.
    var current: HDF5File?
    for (index, episode) in episodes.enumerated() {
      try cancellation.check()
      guard let plan = plans[episode.name] else { continue }
      var images = [[UInt8]](repeating: [], count: plan.steps.count * cameras.count)
      let file =
        try current.flatMap { $0.path == plan.file ? $0 : nil }
        ?? Self.open(plan.file, name: relative(plan.file))
      current = file
      do {
        for (cameraIndex, camera) in cameras.enumerated() {
          let frames = try self.frames(file, plan: plan, camera: camera.key)
          for (position, frame) in frames.enumerated() {
            images[position * cameras.count + cameraIndex] = frame
          }
        }
      } catch let problem as HDF5File.Problem {
        throw VlatuneError.invalidDataset(
          message: "\(relative(plan.file)): \(problem)",
          findings: [Diagnostic(.error, code: "undecodable_image", message: "\(problem)", episode: episode.name)])
      } catch let problem as JPEGCodec.Problem {
        throw VlatuneError.invalidDataset(
          message: "\(relative(plan.file)): \(problem)",
          findings: [Diagnostic(.error, code: "undecodable_image", message: "\(problem)", episode: episode.name)])
      }
      bytesRead += plan.bytes
      try deliver(index, images, bytesRead)
    }
  }

  /// Opens one of the source's files: a file that reaches outside itself is refused (77) like a
  /// symbolic link out of a directory source; one that cannot be opened is invalid data (65).
  private static func open(_ file: String, name: String) throws -> HDF5File {
    do {
      return try HDF5File(path: file)
    } catch let problem as HDF5File.Problem where problem.leavesFile {
      throw VlatuneError.policyDenied(message: "\(name): \(problem)")
    } catch {
      throw VlatuneError.invalidDataset(message: "\(name): \(error)", findings: [])
    }
  }

  /// The kept steps' frames of one camera as JPEG (or PNG bytes as stored).
  private func frames(_ file: HDF5File, plan: Plan, camera: String) throws -> [[UInt8]] {
    let dataset =
      plan.layout == .aloha ? "observations/images/" + camera : plan.group + "/obs/" + camera
    let shape = try file.shape(dataset)
    let rotate = options.rotate180.contains(camera)
    let batch = 64
    var result: [[UInt8]] = []
    result.reserveCapacity(plan.steps.count)
    if plan.compressed || shape.dims.count == 2 {
      // JPEG buffers padded with zeros to a common length.
      let rowBytes = shape.dims.dropFirst().reduce(1, *)
      for step in plan.steps {
        var jpeg = try file.bytes(dataset, rows: step..<(step + 1), rowBytes: rowBytes)
        while let last = jpeg.last, last == 0 { jpeg.removeLast() }
        result.append(rotate ? try JPEGCodec.rotate180(jpeg) : jpeg)
      }
      return result
    }
    guard shape.dims.count == 4, shape.dims[3] == 3 else {
      throw HDF5File.Problem(message: "\(dataset) must be steps × height × width × 3, got \(shape.dims)")
    }
    let (height, width) = (shape.dims[1], shape.dims[2])
    let frameBytes = height * width * 3
    var start = 0
    while start < plan.steps.count {
      let chunk = plan.steps[start..<min(start + batch, plan.steps.count)]
      let rows = chunk.first!..<(chunk.last! + 1)
      let raw = try file.bytes(dataset, rows: rows, rowBytes: frameBytes)
      for step in chunk {
        let offset = (step - rows.lowerBound) * frameBytes
        var pixels = Array(raw[offset..<(offset + frameBytes)])
        if rotate { pixels = JPEGCodec.rotate180(rgb: pixels) }
        result.append(try JPEGCodec.encode(rgb: pixels, width: width, height: height))
      }
      start += batch
    }
    return result
  }
}
