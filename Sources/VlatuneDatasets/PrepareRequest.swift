import VlatuneFormats
import VlatuneGuardrails
import VlatuneSupport

/// Everything `dataset prepare` needs, already parsed; ``validate()`` checks ranges.
public struct PrepareRequest: Sendable, Equatable {
  /// The source directory or archive.
  public var source: String
  /// The dataset's name; defaults to the source's base name without archive extensions.
  public var name: String?
  /// The source format.
  public var format: SourceFormat = .auto
  /// Fraction of episodes held out for validation, in [0, 1).
  public var valFraction: Double = 0.1
  /// Target shard size in bytes.
  public var shardSizeBytes: Int64 = 256_000_000
  /// Seed of the train/val split.
  public var seed: UInt64 = 42
  /// The gripper dimension.
  public var gripperDim: GripperDimension = .auto
  /// Replace a dataset with the same name.
  public var overwrite = false
  /// Cameras to take from a LeRobot source (`nil`: all of them).
  public var cameraMap: CameraMap?
  /// Leave out episodes whose files are absent instead of failing.
  public var skipIncomplete = false
  /// Follow symbolic links that leave a directory source when their target is inside the
  /// policy's `dataset_roots` (``LinkRule``).
  public var followLinks = false
  /// Control frequency for sources that record none.
  public var fps: Double?
  /// Instruction for every episode of an RLDS or HDF5 source.
  public var instruction: String?
  /// Drop no-op steps (RLDS, HDF5).
  public var dropNoops = false
  /// robomimic mask to take demos from.
  public var filterKey: String?
  /// Source camera keys whose frames are turned 180°.
  public var rotate180: [String] = []
  /// Flip the gripper action into this convention (`open1` or `close1`).
  public var gripperConvention: String?
  /// The source key holding the actions (`nil`: the format's default).
  public var actionKey: String?
  /// The source keys concatenated into the state, in order (`nil`: the format's default).
  public var stateKeys: [String]?

  /// Who asks (`cli:$USER`, `mcp:<client>`), for limits and audit.
  public var actor = "cli"

  /// A request for `source` with every other setting at its default.
  public init(source: String) {
    self.source = source
    given = ["source": .string(source)]
  }

  /// A request from raw parameters, validated against ``PrepareParameters/table``.
  ///
  /// - Throws: ``VlatuneError/invalidParameters(_:)`` listing every problem.
  public init(parameters raw: [String: JSONValue], actor: String) throws {
    let values = ParameterValues(try PrepareParameters.table.validate(raw))
    given = raw
    var problems: [ParameterProblem] = []
    source = values[.source] ?? ""
    name = values[.name]
    // The table's choices are the formats' names.
    format = SourceFormat(rawValue: values[.format]) ?? .auto
    valFraction = values[.valFraction]
    seed = UInt64(values[.splitSeed])
    overwrite = values[.overwrite]
    skipIncomplete = values[.skipIncomplete]
    followLinks = values[.followLinks]
    fps = values[.fps]
    instruction = values[.instruction].map { $0.trimmingWhitespace() }
    if instruction?.isEmpty == true {
      problems.append(ParameterProblem(param: "instruction", message: "instruction (--instruction) must not be empty"))
    }
    dropNoops = values[.dropNoops]
    filterKey = values[.filterKey]
    gripperConvention = values[.gripperConvention]
    actionKey = values[.actionKey].map { $0.trimmingWhitespace() }
    if actionKey?.isEmpty == true {
      problems.append(ParameterProblem(param: "action_key", message: "action_key (--action-key) must not be empty"))
    }
    stateKeys = values[.stateKeys]?.map { $0.trimmingWhitespace() }
    if let stateKeys, Set(stateKeys).count != stateKeys.count {
      problems.append(
        ParameterProblem(
          param: "state_keys",
          message: "state_keys (--state-keys) names a key twice: \(stateKeys.joined(separator: ","))"))
    }
    rotate180 = (values[.rotate180] ?? "").split(separator: ",")
      .map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
    self.actor = actor
    if let text = values[.cameraMap] {
      do {
        cameraMap = try CameraMap(parsing: text)
      } catch VlatuneError.invalidArgument(_, let message) {
        problems.append(ParameterProblem(param: "camera_map", message: "camera_map (--camera-map) \(message)"))
      }
    }
    let sizeText = values[.shardSize]
    if let bytes = ByteSize.parse(sizeText) {
      shardSizeBytes = bytes
    } else {
      problems.append(
        ParameterProblem(
          param: "shard_size",
          message: "shard_size (--shard-size) must be a size such as 256MB or 1GiB, got '\(sizeText)'"))
    }
    let gripperText = values[.gripperDim]
    if let gripper = GripperDimension(argument: gripperText) {
      gripperDim = gripper
    } else {
      problems.append(
        ParameterProblem(
          param: "gripper_dim",
          message: "gripper_dim (--gripper-dim) must be auto, none or a zero-based action index, got '\(gripperText)'"))
    }
    problems += settingProblems()
    if !problems.isEmpty { throw VlatuneError.invalidParameters(problems) }
  }

  /// The arguments as the caller gave them, without defaults: what policy conditions test.
  public internal(set) var given: [String: JSONValue] = [:]

  /// The request as tool arguments (for fingerprints and the audit log).
  var arguments: [String: JSONValue] {
    var values: [String: JSONValue] = [
      "source": .string(source), "format": .string(format.rawValue),
      "val_fraction": .number(valFraction), "shard_size": .string(String(shardSizeBytes)),
      "seed": .number(Double(seed)), "overwrite": .bool(overwrite),
    ]
    if let name { values["name"] = .string(name) }
    if let cameraMap {
      values["camera_map"] = .string(
        cameraMap.entries.isEmpty
          ? "none" : cameraMap.entries.map { ($0.slot.map { $0 + "=" } ?? "") + $0.key }.joined(separator: ","))
    }
    if skipIncomplete { values["skip_incomplete"] = .bool(true) }
    if followLinks { values["follow_links"] = .bool(true) }
    if let fps { values["fps"] = .number(fps) }
    if let instruction { values["instruction"] = .string(instruction) }
    if dropNoops { values["drop_noops"] = .bool(true) }
    if let filterKey { values["filter_key"] = .string(filterKey) }
    if let gripperConvention { values["gripper_convention"] = .string(gripperConvention) }
    if !rotate180.isEmpty { values["rotate_180"] = .string(rotate180.joined(separator: ",")) }
    if let actionKey { values["action_key"] = .string(actionKey) }
    if let stateKeys { values["state_keys"] = .array(stateKeys.map { .string($0) }) }
    return values
  }

  /// The smallest accepted shard size.
  public static let minimumShardSize: Int64 = 4096

  /// Checks every setting that needs no I/O and reports all problems at once: what a request
  /// built field by field (``init(source:)``) may get wrong; ``init(parameters:actor:)`` makes
  /// the same checks. ``DatasetPreparer/prepare(_:cancellation:progress:)`` calls it.
  ///
  /// - Throws: ``VlatuneError/invalidParameters(_:)`` naming each bad setting.
  public func validate() throws {
    let problems = settingProblems()
    if !problems.isEmpty { throw VlatuneError.invalidParameters(problems) }
  }

  /// The problems of the settings that the table's ranges do not already cover.
  private func settingProblems() -> [ParameterProblem] {
    func problem(_ name: String, _ message: String) -> ParameterProblem {
      ParameterProblem(param: name, message: "\(PrepareParameters.table[name]?.label ?? name) \(message)")
    }
    var problems: [ParameterProblem] = []
    if !(valFraction >= 0 && valFraction < 1) {
      problems.append(problem("val_fraction", "must be in [0, 1), got \(valFraction)"))
    }
    if shardSizeBytes < Self.minimumShardSize {
      problems.append(
        problem("shard_size", "must be at least \(Self.minimumShardSize) bytes (4KB), got \(shardSizeBytes)"))
    }
    if let name, let message = Self.nameProblem(name) { problems.append(problem("name", message)) }
    return problems
  }

  /// Why `name` is not a valid dataset name, or `nil`.
  public static func nameProblem(_ name: String) -> String? {
    let allowed = name.utf8.allSatisfy { byte in
      (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A)
        || (byte >= 0x61 && byte <= 0x7A) || byte == UInt8(ascii: "_")
        || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
    }
    if name.isEmpty || name.utf8.count > 64 || !allowed || name.hasPrefix(".") {
      return "must be 1–64 characters of letters, digits, '.', '_' or '-' not starting with '.', "
        + "got '\(name)'"
    }
    if name.hasPrefix("ds_") || name.hasPrefix("job_") {
      return "must not start with 'ds_' or 'job_' (reserved for ids), got '\(name)'"
    }
    return nil
  }

  /// The default name for a source path: its base name without archive extensions, with
  /// characters outside the allowed set replaced by `-`.
  public static func defaultName(for source: String) -> String {
    var base = SourcePath.basename(source.hasSuffix("/") ? String(source.dropLast()) : source)
    for suffix in [".tar.gz", ".tar.zst", ".tar.xz", ".tar.bz2", ".tgz", ".tar", ".zip"]
    where base.lowercased().hasSuffix(suffix) {
      base = String(base.dropLast(suffix.count))
      break
    }
    let cleaned = String(
      base.map { character -> Character in
        character.isASCII && (character.isLetter || character.isNumber || "._-".contains(character))
          ? character : "-"
      }.drop(while: { $0 == "." }).prefix(64))
    return cleaned.isEmpty || nameProblem(cleaned) != nil ? "dataset" : cleaned
  }
}

/// Progress of a running prepare, reported to an optional observer.
public struct PrepareProgress: Sendable {
  /// `scan` (pass 1) or `write` (pass 2).
  public var phase: String
  /// Episodes finished in this phase.
  public var episodesDone: Int
  /// Episodes in total (0 while scanning).
  public var episodesTotal: Int
  /// Source bytes read in this phase.
  public var bytesDone: Int64
  /// Source bytes in total (0 while unknown).
  public var bytesTotal: Int64
}
