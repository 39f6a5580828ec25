import Foundation
import VlatuneSupport

/// `meta/info.json` of a LeRobotDataset: the version, frame rate, path templates and features.
package struct LeRobotInfo {
  /// One entry of `features`.
  package struct Feature {
    package var dtype: String
    package var shape: [Int]
  }

  /// The major layout: v2.x (one file per episode) or v3.0 (many episodes per file).
  enum Layout: Equatable {
    case v2
    case v3
  }

  package var version: String
  var layout: Layout
  package var fps: Double
  var chunksSize: Int
  var dataPath: String
  var videoPath: String?
  package var features: [String: Feature]

  /// Camera features (`image` or `video` dtype), sorted by key.
  package var cameraKeys: [String] {
    features.filter { $0.value.dtype == "image" || $0.value.dtype == "video" }.keys.sorted()
  }

  /// Every feature as `key (dtype shape)`, sorted, for messages that say what is there.
  var featureList: String {
    features.keys.sorted().map { key in
      let feature = features[key]!
      return "\(key) (\(feature.dtype)\(feature.shape.isEmpty ? "" : " \(feature.shape)"))"
    }.joined(separator: ", ")
  }

  /// Numeric features that are not bookkeeping columns (candidates for the action and state).
  package var vectorKeys: [String] {
    let bookkeeping: Set<String> = ["timestamp", "frame_index", "episode_index", "index", "task_index"]
    return features.filter { key, feature in
      !bookkeeping.contains(key) && !["image", "video", "string"].contains(feature.dtype)
    }.keys.sorted()
  }

  /// The action and state features: `--action-key` / `--state-keys` (each checked), else
  /// `action` and `observation.state` (when present).
  ///
  /// - Throws: a `meta/info.json` error listing the features when a key is not there.
  package func keys(action: String?, state: [String]?) throws -> (action: String, state: [String]) {
    let actionKey = action ?? "action"
    guard features[actionKey] != nil else {
      guard action == nil else {
        throw VlatuneError.invalidArgument(
          param: "--action-key",
          message: "meta/info.json has no '\(actionKey)' feature; its features: \(featureList)")
      }
      throw SourceFileError.file(
        "meta/info.json",
        "has no 'action' feature; name the action feature with --action-key (and the state with "
          + "--state-keys); its features: \(featureList)")
    }
    if let state {
      for key in state where features[key] == nil {
        throw VlatuneError.invalidArgument(
          param: "--state-keys", message: "meta/info.json has no '\(key)' feature; its features: \(featureList)")
      }
      if state.contains(actionKey) {
        throw VlatuneError.invalidArgument(
          param: "--state-keys",
          message: "'\(actionKey)' is the action feature; the state must not hold the actions")
      }
      return (actionKey, state)
    }
    return (actionKey, features["observation.state"] != nil ? ["observation.state"] : [])
  }

  /// Whether `root` looks like a LeRobotDataset (has `meta/info.json` with a codebase version).
  package static func isPresent(in root: String) -> Bool {
    guard let bytes = FileManager.default.contents(atPath: root + "/meta/info.json"),
      let value = try? JSONParser.parse([UInt8](bytes))
    else { return false }
    return value["codebase_version"]?.stringValue != nil
  }

  /// Reads and checks `meta/info.json`.
  package static func load(root: String) throws -> LeRobotInfo {
    let path = root + "/meta/info.json"
    guard let bytes = FileManager.default.contents(atPath: path) else {
      throw SourceFileError.file("meta/info.json", "is missing; a LeRobotDataset has meta/info.json")
    }
    let value: JSONValue
    do {
      value = try JSONParser.parse([UInt8](bytes))
    } catch {
      throw SourceFileError.file("meta/info.json", "is not valid JSON: \(error)")
    }
    guard let version = value["codebase_version"]?.stringValue else {
      throw SourceFileError.file("meta/info.json", "has no codebase_version")
    }
    let layout: Layout
    switch version {
    case "v2.0", "v2.1": layout = .v2
    case "v3.0": layout = .v3
    default:
      throw SourceFileError.file(
        "meta/info.json",
        "has codebase_version '\(version)'; vlatune reads v2.0, v2.1 and v3.0 (convert older "
          + "datasets with LeRobot's conversion scripts)")
    }
    guard let fps = value["fps"]?.numberValue, fps > 0, fps.isFinite else {
      throw SourceFileError.file("meta/info.json", "fps must be a positive number")
    }
    guard let dataPath = value["data_path"]?.stringValue else {
      throw SourceFileError.file("meta/info.json", "has no data_path template")
    }
    guard let rawFeatures = value["features"]?.objectValue else {
      throw SourceFileError.file("meta/info.json", "has no features")
    }
    var features: [String: Feature] = [:]
    for (key, feature) in rawFeatures {
      guard let dtype = feature["dtype"]?.stringValue else {
        throw SourceFileError.file("meta/info.json", "feature '\(key)' has no dtype")
      }
      let shape = (feature["shape"]?.arrayValue ?? []).compactMap { $0.numberValue.map { Int($0) } }
      features[key] = Feature(dtype: dtype, shape: shape)
    }
    let chunks = Int(value["chunks_size"]?.numberValue ?? 1000)
    return LeRobotInfo(
      version: version, layout: layout, fps: fps, chunksSize: max(chunks, 1), dataPath: dataPath,
      videoPath: value["video_path"]?.stringValue, features: features)
  }

  /// Fills a LeRobot path template (`{episode_chunk:03d}`, `{episode_index:06d}`,
  /// `{chunk_index:03d}`, `{file_index:03d}`, `{video_key}`).
  static func fill(_ template: String, _ values: [String: Int], videoKey: String? = nil) -> String {
    var result = ""
    var rest = Substring(template)
    while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
      result += rest[..<open]
      let field = rest[rest.index(after: open)..<close]
      let parts = field.split(separator: ":", maxSplits: 1)
      let name = String(parts.first ?? "")
      if name == "video_key", let videoKey {
        result += videoKey
      } else if let number = values[name] {
        var width = 0
        if parts.count == 2, let spec = parts.last, spec.hasSuffix("d") {
          width = Int(spec.dropFirst(spec.hasPrefix("0") ? 1 : 0).dropLast()) ?? 0
        }
        let digits = String(number)
        result += String(repeating: "0", count: max(0, width - digits.count)) + digits
      } else {
        result += rest[open...close]
      }
      rest = rest[rest.index(after: close)...]
    }
    return result + rest
  }
}
