import Foundation
import SwiftProtobuf
import VlatuneSupport

/// One RLDS episode decoded from its `tf.train.Example`: TFDS flattens the steps into
/// per-key lists (`steps/action` holds every step's action, step-major).
package struct RLDSEpisode {
  var stepCount: Int
  var actionDim: Int
  var actions: [Double]
  var stateDim: Int
  var states: [Double]
  /// One instruction per step (empty when the dataset has none).
  var instructions: [String]
  /// The RLDS step flags (empty when the dataset has none).
  var isFirst: [Bool]
  var isLast: [Bool]
  var isTerminal: [Bool]
  /// Encoded image bytes per camera key, one per step (only the cameras asked for).
  var images: [String: [[UInt8]]] = [:]
  /// Where it came from, for messages.
  var source: String

  package init(_ data: [UInt8], features: RLDSFeatures, cameras: [String], source: String) throws {
    self.source = source
    let map = try Self.flattenedFeatures(data, source: source)
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
        source, "'\(features.actionKey)' holds \(actions.count) floats, not a multiple of its size \(actionDim)")
    }
    stepCount = actions.count / actionDim
    var parts: [(values: [Double], width: Int)] = []
    for stateKey in features.stateKeys {
      let width = features.width(stateKey)
      let values = try floats(stateKey)
      guard values.count == stepCount * width else {
        throw SourceFileError.file(
          source, "'\(stateKey)' holds \(values.count) floats for \(stepCount) steps of \(width)")
      }
      parts.append((values, width))
    }
    stateDim = parts.reduce(0) { $0 + $1.width }
    states = RowConcatenation.rows(parts, count: stepCount)
    if let key = features.instructionKey, case .bytesList(let list)? = map[key]?.kind {
      instructions = list.value.map { String(decoding: $0, as: UTF8.self) }
    } else {
      instructions = []
    }
    let steps = stepCount
    func flags(_ key: String) -> [Bool] {
      guard case .int64List(let list)? = map[key]?.kind, list.value.count == steps else { return [] }
      return list.value.map { $0 != 0 }
    }
    isFirst = flags("steps/is_first")
    isLast = flags("steps/is_last")
    isTerminal = flags("steps/is_terminal")
    for camera in cameras {
      let key = "steps/observation/" + camera
      guard case .bytesList(let list)? = map[key]?.kind, list.value.count == stepCount else {
        throw SourceFileError.file(source, "'\(key)' does not hold one encoded image per step")
      }
      images[camera] = list.value.map { [UInt8]($0) }
    }
  }

  /// The episode's features by flattened key. A `tf.train.Example` (what TFDS writes) holds
  /// every step's values in one list per key; a `tf.train.SequenceExample` holds one feature per
  /// step in `feature_lists` (concatenated here, keys with or without the `steps/` prefix) and
  /// episode-level features in `context`. Both share field 1, so one parse reads either.
  static func flattenedFeatures(_ data: [UInt8], source: String) throws -> [String: Tensorflow_Feature] {
    let sequence: Tensorflow_SequenceExample
    do {
      sequence = try Tensorflow_SequenceExample(serializedBytes: data)
    } catch {
      throw SourceFileError.file(source, "is not a tf.train.Example or SequenceExample: \(error)")
    }
    var map = sequence.context.feature
    for (name, list) in sequence.featureLists.featureList {
      let key = name.hasPrefix("steps/") ? name : "steps/" + name
      var floats: [Float] = []
      var bytes: [Data] = []
      var integers: [Int64] = []
      let kinds = Set(list.feature.map(\.kindName))
      guard kinds.count <= 1, !kinds.contains("empty") else {
        throw SourceFileError.file(
          source, "feature list '\(name)' must hold one kind of values per step, got \(kinds.sorted())")
      }
      for feature in list.feature {
        switch feature.kind {
        case .floatList(let one)?: floats += one.value
        case .bytesList(let one)?: bytes += one.value
        case .int64List(let one)?: integers += one.value
        case nil: break
        }
      }
      var merged = Tensorflow_Feature()
      switch kinds.first {
      case "float": merged.floatList.value = floats
      case "bytes": merged.bytesList.value = bytes
      case "int64": merged.int64List.value = integers
      default: break
      }
      map[key] = merged
    }
    return map
  }

  /// Warnings about the step flags: `is_first` only at step 0, `is_last` and `is_terminal`
  /// only at the last step.
  package func flagProblems() -> [String] {
    var problems: [String] = []
    if let first = isFirst.first, !first { problems.append("is_first is 0 at step 0") }
    if let step = isFirst.dropFirst().firstIndex(of: true) {
      problems.append("is_first is 1 at step \(step) (the record may join two episodes)")
    }
    if let step = isLast.dropLast().firstIndex(of: true) {
      problems.append("is_last is 1 at step \(step) of \(stepCount)")
    }
    if let step = isTerminal.dropLast().firstIndex(of: true) {
      problems.append("is_terminal is 1 at step \(step) of \(stepCount)")
    }
    return problems
  }

  /// The episode as a record (images are delivered in pass 2).
  package func record(
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
    let numericDigest = EpisodeRecord.numericDigest(actions: actions, states: states)
    let metadata = SHA256Hasher()
    metadata.update("rlds\u{0}\(source)\u{0}\(instruction)\u{0}\(numericDigest)")
    return EpisodeRecord(
      name: name, directory: "", instruction: instruction, fps: fps, cameras: cameras,
      stepCount: stepCount, actionDim: actionDim, stateDim: stateDim, actions: actions,
      states: states, timestamps: (0..<stepCount).map { Double($0) / fps }, imagePaths: [],
      metadataDigest: metadata.hexDigest(), numericDigest: numericDigest)
  }
}

extension Tensorflow_Feature {
  /// The value kind, for messages: `float`, `bytes`, `int64` or `empty`.
  fileprivate var kindName: String {
    switch kind {
    case .floatList?: "float"
    case .bytesList?: "bytes"
    case .int64List?: "int64"
    case nil: "empty"
    }
  }
}
