import Foundation

/// What a TFDS dataset's `features.json` says about its episodes: the flattened example keys of
/// the step features vlatune reads (`steps/action`, `steps/observation/<camera>`, …).
struct RLDSFeatures {
  /// A step feature's kind.
  enum Kind: Equatable {
    case image(format: String)
    case tensor(dimensions: [Int], dtype: String)
    case text
    case scalar(dtype: String)
  }

  /// Every step feature by flattened key (`steps/observation/image_0`).
  var steps: [String: Kind] = [:]

  /// The action key.
  var actionKey: String { "steps/action" }
  /// The state key, when the dataset has one (`steps/observation/state`, else `…/proprio`).
  var stateKey: String? {
    ["steps/observation/state", "steps/observation/proprio"].first { steps[$0] != nil }
  }
  /// The language instruction key, when the dataset has one.
  var instructionKey: String? {
    ["steps/language_instruction", "steps/observation/natural_language_instruction"]
      .first { steps[$0] == .text }
  }
  /// Camera names (image features directly under `steps/observation/`), sorted.
  var cameras: [String] {
    steps.compactMap { key, kind -> String? in
      guard case .image = kind, key.hasPrefix("steps/observation/") else { return nil }
      let name = String(key.dropFirst("steps/observation/".count))
      return name.contains("/") ? nil : name
    }.sorted()
  }

  /// Reads `features.json`.
  static func load(_ path: String) throws -> RLDSFeatures {
    guard let bytes = FileManager.default.contents(atPath: path),
      let value = try? JSONParser.parse([UInt8](bytes))
    else {
      throw SourceFileError.file("features.json", "is missing or not JSON")
    }
    guard let top = value["featuresDict"]?["features"]?.objectValue,
      let steps = top["steps"]?["sequence"]?["feature"]
    else {
      throw SourceFileError.file(
        "features.json", "has no 'steps' sequence; vlatune reads RLDS episodes (steps/…)")
    }
    var features = RLDSFeatures()
    collect(steps, prefix: "steps", into: &features.steps)
    guard case .tensor(let dimensions, _) = features.steps["steps/action"], dimensions.count == 1
    else {
      throw SourceFileError.file(
        "features.json", "has no 'steps/action' vector; vlatune needs one action vector per step")
    }
    return features
  }

  private static func collect(_ node: JSONValue, prefix: String, into steps: inout [String: Kind]) {
    let className = node["pythonClassName"]?.stringValue ?? ""
    if let children = node["featuresDict"]?["features"]?.objectValue {
      for (name, child) in children { collect(child, prefix: prefix + "/" + name, into: &steps) }
    } else if className.hasSuffix("Image") || node["image"] != nil {
      steps[prefix] = .image(format: node["image"]?["encodingFormat"]?.stringValue ?? "png")
    } else if className.hasSuffix("Text") || node["text"] != nil {
      steps[prefix] = .text
    } else if let tensor = node["tensor"] {
      let dimensions = (tensor["shape"]?["dimensions"]?.arrayValue ?? []).compactMap { value in
        value.stringValue.flatMap { Int($0) } ?? value.numberValue.map { Int($0) }
      }
      let dtype = tensor["dtype"]?.stringValue ?? ""
      steps[prefix] = dimensions.isEmpty ? .scalar(dtype: dtype) : .tensor(dimensions: dimensions, dtype: dtype)
    }
  }
}
