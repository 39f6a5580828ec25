import SwiftProtobuf

/// One RLDS episode decoded from its `tf.train.Example`: TFDS flattens the steps into
/// per-key lists (`steps/action` holds every step's action, step-major).
struct RLDSEpisode {
  var stepCount: Int
  var actionDim: Int
  var actions: [Double]
  var stateDim: Int
  var states: [Double]
  /// One instruction per step (empty when the dataset has none).
  var instructions: [String]
  var isLast: [Bool]
  /// Encoded image bytes per camera key, one per step (only the cameras asked for).
  var images: [String: [[UInt8]]] = [:]
  /// Where it came from, for messages.
  var source: String

  init(_ data: [UInt8], features: RLDSFeatures, cameras: [String], source: String) throws {
    self.source = source
    let example: Tensorflow_Example
    do {
      example = try Tensorflow_Example(serializedBytes: data)
    } catch {
      throw SourceFileError.file(source, "is not a tf.train.Example: \(error)")
    }
    let map = example.features.feature
    func floats(_ key: String) throws -> [Double] {
      guard let feature = map[key] else { throw SourceFileError.file(source, "has no '\(key)'") }
      guard case .floatList(let list) = feature.kind else {
        throw SourceFileError.file(source, "'\(key)' is not a float list")
      }
      return list.value.map(Double.init)
    }
    guard case .tensor(let actionShape, _) = features.steps[features.actionKey] else {
      throw SourceFileError.file(source, "features.json has no action vector")
    }
    actionDim = actionShape.reduce(1, *)
    actions = try floats(features.actionKey)
    guard actionDim > 0, actions.count % actionDim == 0 else {
      throw SourceFileError.file(
        source, "'steps/action' holds \(actions.count) floats, not a multiple of its size \(actionDim)")
    }
    stepCount = actions.count / actionDim
    if let stateKey = features.stateKey, case .tensor(let shape, _) = features.steps[stateKey] {
      stateDim = shape.reduce(1, *)
      states = try floats(stateKey)
      guard states.count == stepCount * stateDim else {
        throw SourceFileError.file(
          source, "'\(stateKey)' holds \(states.count) floats for \(stepCount) steps of \(stateDim)")
      }
    } else {
      stateDim = 0
      states = []
    }
    if let key = features.instructionKey, case .bytesList(let list)? = map[key]?.kind {
      instructions = list.value.map { String(decoding: $0, as: UTF8.self) }
    } else {
      instructions = []
    }
    if case .int64List(let list)? = map["steps/is_last"]?.kind {
      isLast = list.value.map { $0 != 0 }
    } else {
      isLast = []
    }
    for camera in cameras {
      let key = "steps/observation/" + camera
      guard case .bytesList(let list)? = map[key]?.kind, list.value.count == stepCount else {
        throw SourceFileError.file(source, "'\(key)' does not hold one encoded image per step")
      }
      images[camera] = list.value.map { [UInt8]($0) }
    }
  }

  /// The episode as a record (images are delivered in pass 2).
  func record(
    name: String, fps: Double, instruction override: String?, cameras: [String],
    diagnostics: inout [Diagnostic]
  ) throws -> EpisodeRecord {
    var instruction = override ?? instructions.first { !$0.isEmpty } ?? ""
    if override == nil, Set(instructions.filter { !$0.isEmpty }).count > 1 {
      diagnostics.append(
        Diagnostic(
          .warning, code: "several_instructions",
          message: "the steps carry \(Set(instructions).count) instructions; the first is used",
          episode: name))
    }
    if instruction.isEmpty {
      diagnostics.append(
        Diagnostic(
          .error, code: "missing_instruction",
          message: "\(source) has no language instruction; pass --instruction TEXT",
          episode: name, field: "language_instruction"))
      instruction = ""
    }
    if stepCount < 2 {
      diagnostics.append(
        Diagnostic(
          .error, code: stepCount == 0 ? "empty_episode" : "one_step_episode",
          message: "\(source) has \(stepCount) step(s); an episode needs at least 2", episode: name))
    }
    for (index, value) in actions.enumerated() where !value.isFinite {
      diagnostics.append(
        Diagnostic(
          .error, code: "non_finite", message: "action[\(index % actionDim)] is \(value)",
          episode: name, step: index / actionDim, field: "action[\(index % actionDim)]"))
      break
    }
    let numeric = SHA256Hasher()
    actions.withUnsafeBytes { numeric.update($0) }
    states.withUnsafeBytes { numeric.update($0) }
    let numericDigest = numeric.hexDigest()
    let metadata = SHA256Hasher()
    metadata.update("rlds\u{0}\(source)\u{0}\(instruction)\u{0}\(numericDigest)")
    return EpisodeRecord(
      name: name, directory: "", instruction: instruction, fps: fps, cameras: cameras,
      stepCount: stepCount, actionDim: actionDim, stateDim: stateDim, actions: actions,
      states: states, timestamps: (0..<stepCount).map { Double($0) / fps }, imagePaths: [],
      metadataDigest: metadata.hexDigest(), numericDigest: numericDigest)
  }
}
