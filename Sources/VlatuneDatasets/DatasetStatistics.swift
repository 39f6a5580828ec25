import VlatuneSupport

/// Per-dimension statistics of one vector stream (actions or proprioceptive state), in the shape
/// OpenVLA writes to `dataset_statistics.json`.
public struct VectorStatistics: Codable, Sendable, Equatable {
  /// Arithmetic mean.
  public var mean: [Double]
  /// Population standard deviation (numpy's default, `ddof=0`).
  public var std: [Double]
  /// Maximum.
  public var max: [Double]
  /// Minimum.
  public var min: [Double]
  /// Exact 1st percentile (numpy's default linear interpolation).
  public var q01: [Double]
  /// Exact 99th percentile (numpy's default linear interpolation).
  public var q99: [Double]
  /// `true` where the dimension is normalized; `false` for the gripper and constant dimensions.
  /// Present for actions only.
  public var mask: [Bool]?

  /// Computes exact statistics of a row-major matrix of `count` rows and `dimension` columns.
  ///
  /// - Parameters:
  ///   - values: `count × dimension` values, row by row.
  ///   - dimension: The number of columns (at least 1).
  /// - Returns: Statistics with no mask.
  public static func compute(values: [Double], dimension: Int) -> VectorStatistics {
    compute(blocks: [values], dimension: dimension)
  }

  /// Computes exact statistics of the rows of several row-major blocks taken together (one
  /// block per episode), holding one column at a time rather than a copy of every row.
  ///
  /// - Parameters:
  ///   - blocks: Each `rows × dimension` values, row by row.
  ///   - dimension: The number of columns (at least 1).
  /// - Returns: Statistics with no mask.
  public static func compute(blocks: [[Double]], dimension: Int) -> VectorStatistics {
    precondition(dimension > 0 && blocks.allSatisfy { $0.count % dimension == 0 })
    let count = blocks.reduce(0) { $0 + $1.count } / dimension
    var result = VectorStatistics(
      mean: [], std: [], max: [], min: [], q01: [], q99: [], mask: nil)
    var column = [Double](repeating: 0, count: count)
    for dim in 0..<dimension {
      var sum = 0.0
      var row = 0
      for block in blocks {
        for index in stride(from: dim, to: block.count, by: dimension) {
          let value = block[index]
          column[row] = value
          sum += value
          row += 1
        }
      }
      let mean = sum / Double(count)
      var squares = 0.0
      for value in column {
        let delta = value - mean
        squares += delta * delta
      }
      column.sort()
      result.mean.append(mean)
      result.std.append((squares / Double(count)).squareRoot())
      result.min.append(column.first ?? 0)
      result.max.append(column.last ?? 0)
      result.q01.append(quantile(sorted: column, 0.01))
      result.q99.append(quantile(sorted: column, 0.99))
    }
    return result
  }

  /// The statistics of all-zero vectors of `dimension` values (OpenVLA's proprio statistics
  /// when there is no state).
  public static func zeros(dimension: Int) -> VectorStatistics {
    let zero = [Double](repeating: 0, count: dimension)
    return VectorStatistics(mean: zero, std: zero, max: zero, min: zero, q01: zero, q99: zero, mask: nil)
  }

  /// The exact quantile of sorted values with numpy's default (`linear`) method.
  ///
  /// - Parameters:
  ///   - sorted: Values in ascending order (non-empty).
  ///   - probability: In [0, 1].
  public static func quantile(sorted: [Double], _ probability: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let position = Double(sorted.count - 1) * probability
    let lower = Int(position.rounded(.down))
    let upper = Swift.min(lower + 1, sorted.count - 1)
    let fraction = position - Double(lower)
    let low = sorted[lower]
    let high = sorted[upper]
    // numpy's _lerp: interpolate from the nearer end for accuracy.
    let difference = high - low
    return fraction >= 0.5 ? high - difference * (1 - fraction) : low + difference * fraction
  }
}

/// Normalization statistics of a dataset: the value stored under the dataset's name (the
/// `unnorm_key`) in OpenVLA's `dataset_statistics.json`.
public struct DatasetStatistics: Codable, Sendable, Equatable {
  /// Action statistics, with `mask`.
  public var action: VectorStatistics
  /// State statistics (computed over zeros shaped like the actions when there is no state, as
  /// OpenVLA does).
  public var proprio: VectorStatistics
  /// Number of steps.
  public var numTransitions: Int
  /// Number of episodes.
  public var numTrajectories: Int

  enum CodingKeys: String, CodingKey {
    case action, proprio
    case numTransitions = "num_transitions"
    case numTrajectories = "num_trajectories"
  }
}
