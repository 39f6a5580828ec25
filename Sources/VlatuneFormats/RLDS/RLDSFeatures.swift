import Foundation
import VlatuneSupport

/// What a TFDS dataset's `features.json` says about its episodes: the flattened example keys of
/// the step features vlatune reads (`steps/action`, `steps/observation/<camera>`, …).
package struct RLDSFeatures {
  /// A step feature's kind.
  package enum Kind: Equatable {
    case image(format: String)
    case tensor(dimensions: [Int], dtype: String)
    case text
    case scalar(dtype: String)
  }

  /// Every step feature by flattened key (`steps/observation/image_0`).
  package var steps: [String: Kind] = [:]

  /// The action key (`--action-key`, under `steps/`).
  var actionKey = "steps/action"
  /// The state keys: `--state-keys` (under `steps/observation/`), else `steps/observation/state`
  /// or `…/proprio` when the dataset has one.
  package var stateKeys: [String] = []

  /// No features (filled in by the caller).
  package init() {}

  /// Float tensors under `steps/observation/` (candidates for the state), by flattened key.
  var vectorKeys: [String] {
    steps.compactMap { key, kind in
      guard case .tensor = kind, key.hasPrefix("steps/observation/") else { return nil }
      return key
    }.sorted()
  }

  /// Chooses the action and state keys.
  ///
  /// - Throws: ``VlatuneError/invalidArgument(param:message:)`` for a key that is not a tensor
  ///   feature, listing those there are.
  mutating func choose(action: String?, state: [String]?) throws {
    let tensors = steps.compactMap { key, kind -> String? in
      if case .tensor = kind { return key } else { return nil }
    }.sorted()
    if let action {
      let key = action.hasPrefix("steps/") ? action : "steps/" + action
      guard case .tensor(let dimensions, _) = steps[key], dimensions.count == 1 else {
        throw VlatuneError.invalidArgument(
          param: "--action-key",
          message:
            "'\(action)' is not a vector feature of the steps; vector features: \(tensors.joined(separator: ", "))")
      }
      actionKey = key
    } else if steps[actionKey] == nil {
      throw SourceFileError.file(
        "features.json",
        "has no 'steps/action' vector; name the action with --action-key (vector features: "
          + "\(tensors.joined(separator: ", ")))")
    }
    if let state {
      stateKeys = try state.map { name in
        let key = name.hasPrefix("steps/") ? name : "steps/observation/" + name
        guard case .tensor = steps[key] else {
          throw VlatuneError.invalidArgument(
            param: "--state-keys",
            message: "'\(name)' is not a tensor feature under steps/observation/; tensors there: "
              + vectorKeys.map { String($0.dropFirst("steps/observation/".count)) }.joined(separator: ", "))
        }
        guard key != actionKey else {
          throw VlatuneError.invalidArgument(
            param: "--state-keys", message: "'\(name)' is the action; the state must not hold the actions")
        }
        return key
      }
    } else {
      stateKeys =
        ["steps/observation/state", "steps/observation/proprio"].first { steps[$0] != nil }.map { [$0] } ?? []
    }
  }

  /// A tensor feature's number of values per step.
  func width(_ key: String) -> Int {
    if case .tensor(let dimensions, _) = steps[key] { return dimensions.reduce(1, *) }
    return 0
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
