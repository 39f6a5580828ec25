import VlatuneSupport

/// Parses one episode of the `episodes` source format (CONTRACT §6) from the bytes of its
/// `meta.json` and `steps.jsonl`, collecting every problem as a ``Diagnostic``.
package struct EpisodeParser {
  /// Keys `meta.json` may carry; others produce a warning.
  static let knownMetaKeys: Set<String> = ["instruction", "fps", "cameras", "source"]
  /// Keys a step line may carry; others produce a warning.
  static let knownStepKeys: Set<String> = ["action", "state", "timestamp", "images"]

  let name: String
  let directory: String
  /// `--fps`: the frame rate of an episode whose `meta.json` records none.
  let defaultFPS: Double?
  var diagnostics: [Diagnostic] = []
  private var errorCounts: [String: Int] = [:]

  package init(name: String, directory: String, defaultFPS: Double? = nil) {
    self.name = name
    self.directory = directory
    self.defaultFPS = defaultFPS
  }

  /// Parses the episode; returns `nil` when the metadata is unusable (errors are recorded).
  /// The steps are parsed even then, so that one run reports every problem.
  package mutating func parse(meta: [UInt8], steps: [UInt8]?) -> EpisodeRecord? {
    let parsed = parseMeta(meta)
    guard let steps else {
      error("missing_file", "steps.jsonl is missing; add one line per step", field: "steps.jsonl")
      return nil
    }
    let header = parsed ?? Header(instruction: "", fps: 1, cameras: [])
    let digest = SHA256Hasher()
    digest.update(meta)
    digest.update([0])
    digest.update(steps)
    var record = EpisodeRecord(
      name: name, directory: directory, instruction: header.instruction, fps: header.fps,
      cameras: header.cameras, stepCount: 0, actionDim: 0, stateDim: 0, actions: [], states: [],
      timestamps: [], imagePaths: [], metadataDigest: digest.hexDigest(), numericDigest: "")
    parseSteps(steps, into: &record)
    if record.stepCount == 0 {
      error("empty_episode", "the episode has no steps; remove it or record it again", field: nil)
    } else if record.stepCount == 1 {
      error(
        "one_step_episode", "the episode has a single step; an episode needs at least 2",
        field: nil)
    }
    record.numericDigest = EpisodeRecord.numericDigest(actions: record.actions, states: record.states)
    return parsed == nil ? nil : record
  }

  private struct Header {
    var instruction: String
    var fps: Double
    var cameras: [String]
  }

  private mutating func parseMeta(_ bytes: [UInt8]) -> Header? {
    let value: JSONValue
    do {
      value = try JSONParser.parse(bytes)
    } catch {
      self.error("invalid_json", "meta.json is not valid JSON (\(error))", field: "meta.json")
      return nil
    }
    guard let object = value.objectValue else {
      error("invalid_json", "meta.json must be a JSON object", field: "meta.json")
      return nil
    }
    for key in object.keys.sorted() where !Self.knownMetaKeys.contains(key) {
      warning(
        "unknown_key",
        "unknown key '\(key)' ignored (known keys: instruction, fps, cameras, source)",
        field: "meta.json:\(key)")
    }
    var ok = true
    let instruction = object["instruction"]?.stringValue?.trimmingWhitespace() ?? ""
    if instruction.isEmpty {
      error(
        "missing_instruction",
        "no language instruction; add \"instruction\": \"pick up the red cube\" to meta.json",
        field: "meta.json:instruction")
      ok = false
    }
    var fps = object["fps"]?.numberValue ?? .nan
    if object["fps"] == nil, let defaultFPS { fps = defaultFPS }
    if let defaultFPS, let recorded = object["fps"]?.numberValue, recorded != defaultFPS {
      error(
        "fps_conflict",
        "meta.json records fps \(recorded) but --fps is \(defaultFPS); --fps only fills in episodes "
          + "whose meta.json has no fps (drop --fps or fix meta.json)", field: "meta.json:fps")
      ok = false
    }
    if !(fps.isFinite && fps > 0) {
      error(
        "invalid_fps",
        "fps must be a positive number (got \(object["fps"]?.typeName ?? "none")); add \"fps\": 10 "
          + "to meta.json or pass --fps", field: "meta.json:fps")
      ok = false
    }
    var cameras: [String] = []
    if let list = object["cameras"]?.arrayValue {
      for item in list {
        guard let camera = item.stringValue, Self.isValidCameraKey(camera) else {
          error(
            "invalid_camera",
            "camera names must be non-empty strings of letters, digits, '_' or '-'",
            field: "meta.json:cameras")
          ok = false
          continue
        }
        if cameras.contains(camera) {
          error("invalid_camera", "camera '\(camera)' is listed twice", field: "meta.json:cameras")
          ok = false
        }
        cameras.append(camera)
      }
    } else if object["cameras"] != nil {
      error("invalid_camera", "cameras must be an array of names", field: "meta.json:cameras")
      ok = false
    }
    return ok ? Header(instruction: instruction, fps: fps, cameras: cameras) : nil
  }

  static func isValidCameraKey(_ key: String) -> Bool {
    !key.isEmpty && key.utf8.count <= 64
      && key.utf8.allSatisfy { byte in
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A)
          || (byte >= 0x61 && byte <= 0x7A) || byte == UInt8(ascii: "_")
          || byte == UInt8(ascii: "-")
      }
  }

  private mutating func parseSteps(_ bytes: [UInt8], into record: inout EpisodeRecord) {
    var lineStart = 0
    var lineNumber = 0
    var step = 0
    var warnedKeys: Set<String> = []
    // Every episode's arrays live until the package is written: size them once, from the
    // number of lines and step 0's shapes, instead of letting them grow by doubling.
    let lines = bytes.reduce(into: 1) { count, byte in if byte == 0x0A { count += 1 } }
    record.timestamps.reserveCapacity(lines)
    while lineStart < bytes.count {
      var lineEnd = lineStart
      while lineEnd < bytes.count && bytes[lineEnd] != 0x0A { lineEnd += 1 }
      lineNumber += 1
      let line = Array(bytes[lineStart..<lineEnd])
      lineStart = lineEnd + 1
      if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
      let value: JSONValue
      do {
        value = try JSONParser.parse(line)
      } catch {
        self.error(
          "invalid_json", "steps.jsonl line \(lineNumber) is not valid JSON (\(error))",
          step: step, field: "steps.jsonl:\(lineNumber)")
        step += 1
        continue
      }
      guard let object = value.objectValue else {
        error(
          "invalid_json", "steps.jsonl line \(lineNumber) must be a JSON object", step: step,
          field: "steps.jsonl:\(lineNumber)")
        step += 1
        continue
      }
      for key in object.keys where !Self.knownStepKeys.contains(key) && !warnedKeys.contains(key) {
        warnedKeys.insert(key)
        warning("unknown_key", "unknown step key '\(key)' ignored", field: "steps.jsonl:\(key)")
      }
      parseStep(object, step: step, into: &record)
      if step == 0 {
        // At most as many steps as lines as long as step 0's fit in the file (blank lines
        // must not make a small file reserve for millions of wide steps).
        let steps = min(lines, bytes.count / max(line.count, 1) + 1)
        record.actions.reserveCapacity(steps * record.actionDim)
        record.states.reserveCapacity(steps * record.stateDim)
        record.imagePaths.reserveCapacity(
          paths: steps * record.imagePaths.count, bytes: steps * record.imagePaths.byteCount)
      }
      step += 1
    }
    record.stepCount = step
  }

  private mutating func parseStep(
    _ object: [String: JSONValue], step: Int, into record: inout EpisodeRecord
  ) {
    let action = vector(object["action"], field: "action", step: step, required: true)
    if step == 0 { record.actionDim = action.count }
    if action.count != record.actionDim {
      error(
        "dim_mismatch",
        "action has \(action.count) values, expected \(record.actionDim) as in step 0",
        step: step, field: "action")
    }
    record.actions.append(contentsOf: padded(action, to: record.actionDim))

    let state = vector(object["state"], field: "state", step: step, required: false)
    if step == 0 { record.stateDim = state.count }
    if state.count != record.stateDim {
      error(
        "dim_mismatch",
        "state has \(state.count) values, expected \(record.stateDim) as in step 0",
        step: step, field: "state")
    }
    record.states.append(contentsOf: padded(state, to: record.stateDim))

    let timestamp = object["timestamp"]?.numberValue
    if timestamp == nil || !(timestamp!.isFinite) {
      error(
        "invalid_timestamp",
        "timestamp must be a finite number of seconds (got \(object["timestamp"]?.typeName ?? "none"))",
        step: step, field: "timestamp")
    }
    record.timestamps.append(timestamp ?? .nan)

    let images = object["images"]?.objectValue ?? [:]
    if object["images"] != nil && object["images"]?.objectValue == nil {
      error("invalid_images", "images must be an object of camera → path", step: step, field: "images")
    }
    for camera in record.cameras {
      guard let reference = images[camera]?.stringValue, !reference.isEmpty else {
        error(
          "missing_image", "no image for camera '\(camera)' (listed in meta.json cameras)",
          step: step, field: "images.\(camera)")
        record.imagePaths.append("")
        continue
      }
      guard let path = SourcePath.join(directory, reference) else {
        error(
          "unsafe_path",
          "image path '\(reference)' must be relative to the episode directory, without '..'",
          step: step, field: "images.\(camera)")
        record.imagePaths.append("")
        continue
      }
      record.imagePaths.append(path)
    }
    for camera in images.keys.sorted() where !record.cameras.contains(camera) {
      if step == 0 {
        warning(
          "unknown_camera",
          "image key '\(camera)' is not in meta.json cameras and is ignored",
          step: step, field: "images.\(camera)")
      }
    }
  }

  /// The most values an action or state vector may have.
  static let maximumDimension = 1024

  private func padded(_ values: [Double], to count: Int) -> [Double] {
    if values.count == count { return values }
    if values.count > count { return Array(values.prefix(count)) }
    return values + [Double](repeating: 0, count: count - values.count)
  }

  private mutating func vector(
    _ value: JSONValue?, field: String, step: Int, required: Bool
  ) -> [Double] {
    guard let value else {
      if required {
        error("missing_field", "\(field) is missing", step: step, field: field)
      }
      return []
    }
    guard let elements = value.arrayValue else {
      error("invalid_type", "\(field) must be an array of numbers", step: step, field: field)
      return []
    }
    // Every step is padded to step 0's width: one step of 10⁶ values must not make every
    // other step take 8 MB.
    guard elements.count <= Self.maximumDimension else {
      error(
        "dim_too_large",
        "\(field) has \(elements.count) values; at most \(Self.maximumDimension) are accepted "
          + "(is an image or a whole trajectory stored in it?)", step: step, field: field)
      return []
    }
    var result: [Double] = []
    result.reserveCapacity(elements.count)
    for (index, element) in elements.enumerated() {
      guard let number = element.numberValue else {
        error(
          "invalid_type", "\(field)[\(index)] is \(element.typeName), expected a number",
          step: step, field: "\(field)[\(index)]")
        result.append(0)
        continue
      }
      if !number.isFinite {
        error(
          number.isNaN ? "nan_value" : "inf_value",
          "\(field)[\(index)] is \(number); replace or drop this step",
          step: step, field: "\(field)[\(index)]")
      }
      result.append(number)
    }
    return result
  }

  private mutating func error(_ code: String, _ message: String, step: Int? = nil, field: String?) {
    let count = errorCounts[code, default: 0] + 1
    errorCounts[code] = count
    if count > ValidationLimits.errorsPerKind { return }
    let suffix =
      count == ValidationLimits.errorsPerKind ? " (further '\(code)' errors in this episode are not listed)" : ""
    diagnostics.append(
      Diagnostic(
        .error, code: code, message: message + suffix, episode: name, step: step, field: field))
  }

  private mutating func warning(
    _ code: String, _ message: String, step: Int? = nil, field: String?
  ) {
    diagnostics.append(
      Diagnostic(.warning, code: code, message: message, episode: name, step: step, field: field))
  }
}
