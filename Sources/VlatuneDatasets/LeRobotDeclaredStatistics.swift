import Foundation
import VlatuneSupport

/// The statistics a LeRobotDataset ships (`meta/stats.json`, or for v2.1 the per-episode
/// `meta/episodes_stats.jsonl` aggregated as LeRobot does), to compare with vlatune's exact
/// ones: a large disagreement means stale or wrong metadata that other tools would train with.
struct LeRobotDeclaredStatistics {
  /// One feature's per-dimension statistics (any may be missing).
  struct Feature {
    var values: [String: [Double]]

    /// Relative tolerance per statistic: mean/min/max/std are exact in both; LeRobot's
    /// quantiles are histogram estimates.
    static let tolerances: [(name: String, tolerance: Double)] = [
      ("min", 1e-3), ("max", 1e-3), ("mean", 1e-3), ("std", 1e-2), ("q01", 0.05), ("q99", 0.05),
    ]

    /// Warnings for statistics that differ from `exact` by more than their tolerance (relative
    /// to the dimension's range).
    func disagreements(with exact: VectorStatistics, feature: String, source: String) -> [Diagnostic] {
      var diagnostics: [Diagnostic] = []
      for (name, tolerance) in Self.tolerances {
        guard let declared = values[name] else { continue }
        let ours: [Double]
        switch name {
        case "min": ours = exact.min
        case "max": ours = exact.max
        case "mean": ours = exact.mean
        case "std": ours = exact.std
        case "q01": ours = exact.q01
        default: ours = exact.q99
        }
        guard declared.count == ours.count else {
          diagnostics.append(
            Diagnostic(
              .warning, code: "stats_disagree",
              message: "\(source) gives \(feature).\(name) for \(declared.count) dimensions, the "
                + "data has \(ours.count)", field: feature))
          continue
        }
        var differing: [String] = []
        for dim in ours.indices {
          // Relative to the dimension's range, with a float32 rounding floor (LeRobot computes
          // in float32) so constant dimensions do not warn about the seventh digit.
          let range = exact.max[dim] - exact.min[dim]
          let floor = 1e-5 * Swift.max(1, abs(ours[dim]))
          if abs(declared[dim] - ours[dim]) > tolerance * range + floor {
            differing.append(
              "[\(dim)] \(Self.format(declared[dim])) vs \(Self.format(ours[dim]))")
          }
        }
        guard !differing.isEmpty else { continue }
        let shown = differing.prefix(3).joined(separator: ", ")
        let more = differing.count > 3 ? " and \(differing.count - 3) more" : ""
        diagnostics.append(
          Diagnostic(
            .warning, code: "stats_disagree",
            message: "\(source) \(feature).\(name) differs from the data: \(shown)\(more) "
              + "(declared vs exact); vlatune normalizes with its exact statistics"
              + (name.hasPrefix("q")
                ? " (LeRobot's \(name) is a count-weighted average of per-episode quantiles, not "
                  + "the quantile of all frames, so it differs from the exact one by design)" : ""),
            field: "\(feature).\(name)"))
      }
      return diagnostics
    }

    private static func format(_ value: Double) -> String { String(format: "%.6g", value) }
  }

  /// Where the statistics came from, for messages.
  var source = "meta/stats.json"
  var features: [String: Feature] = [:]

  subscript(_ feature: String) -> Feature? { features[feature] }

  /// Loads the dataset's statistics for the episodes prepared; empty when it ships none.
  static func load(root: String, keys: [String], episodes: Set<Int>) -> LeRobotDeclaredStatistics {
    let stats = root + "/meta/stats.json"
    if let bytes = FileManager.default.contents(atPath: stats),
      let value = try? JSONParser.parse([UInt8](bytes))
    {
      var result = LeRobotDeclaredStatistics()
      for key in keys {
        if let entry = value[key]?.objectValue { result.features[key] = Feature(values: vectors(entry)) }
      }
      return result
    }
    return aggregateEpisodes(root: root, keys: keys, episodes: episodes)
  }

  private static func vectors(_ entry: [String: JSONValue]) -> [String: [Double]] {
    var values: [String: [Double]] = [:]
    for (name, value) in entry {
      if let array = value.arrayValue {
        values[name] = array.compactMap(\.numberValue)
      }
    }
    return values
  }

  /// v2.1: min of minima, max of maxima, count-weighted mean and pooled std over the episodes.
  private static func aggregateEpisodes(root: String, keys: [String], episodes: Set<Int>)
    -> LeRobotDeclaredStatistics
  {
    var result = LeRobotDeclaredStatistics(source: "meta/episodes_stats.jsonl")
    guard let bytes = FileManager.default.contents(atPath: root + "/meta/episodes_stats.jsonl")
    else { return result }
    var collected: [String: [(count: Double, values: [String: [Double]])]] = [:]
    for line in bytes.split(separator: UInt8(ascii: "\n")) {
      guard let value = try? JSONParser.parse([UInt8](line)),
        let index = value["episode_index"]?.numberValue, episodes.contains(Int(index)),
        let stats = value["stats"]
      else { continue }
      for key in keys {
        guard let entry = stats[key]?.objectValue else { continue }
        let values = vectors(entry)
        let count = values["count"]?.first ?? 0
        guard count > 0 else { continue }
        collected[key, default: []].append((count, values))
      }
    }
    for (key, parts) in collected {
      guard let dims = parts.first?.values["mean"]?.count,
        parts.allSatisfy({ part in
          ["mean", "std", "min", "max"].allSatisfy { part.values[$0]?.count == dims }
        })
      else { continue }
      let total = parts.reduce(0) { $0 + $1.count }
      var mean = [Double](repeating: 0, count: dims)
      var minimum = [Double](repeating: .infinity, count: dims)
      var maximum = [Double](repeating: -.infinity, count: dims)
      for part in parts {
        for dim in 0..<dims {
          mean[dim] += part.count * part.values["mean"]![dim] / total
          minimum[dim] = Swift.min(minimum[dim], part.values["min"]![dim])
          maximum[dim] = Swift.max(maximum[dim], part.values["max"]![dim])
        }
      }
      var variance = [Double](repeating: 0, count: dims)
      for part in parts {
        for dim in 0..<dims {
          let std = part.values["std"]![dim]
          let delta = part.values["mean"]![dim] - mean[dim]
          variance[dim] += part.count * (std * std + delta * delta) / total
        }
      }
      result.features[key] = Feature(values: [
        "mean": mean, "min": minimum, "max": maximum, "std": variance.map { $0.squareRoot() },
      ])
    }
    return result
  }
}
