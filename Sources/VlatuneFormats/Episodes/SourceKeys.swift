import VlatuneSupport

/// Which keys of the source fill the package's action and state vectors, recorded in the
/// dataset document (`source.keys`) so that a state dimension can be traced to its source.
public struct SourceKeys: Codable, Sendable, Equatable {
  /// A source key and the state range it fills.
  public struct Segment: Codable, Sendable, Equatable {
    /// The key in the source (`obs/robot0_eef_pos`, `observation.state`).
    public var key: String
    /// The first state dimension it fills.
    public var start: Int
    /// How many dimensions it fills.
    public var size: Int

    /// A segment of `size` dimensions from `start`.
    public init(key: String, start: Int, size: Int) {
      self.key = key
      self.start = start
      self.size = size
    }
  }

  /// The key holding the actions.
  public var action: String
  /// The keys concatenated into the state, in order.
  public var state: [Segment]
  /// Keys the state could have been taken from but was not (for messages; not encoded).
  package var otherStateCandidates: [String] = []

  enum CodingKeys: String, CodingKey {
    case action, state
  }

  /// Keys with segments laid out one after another from `widths`.
  package init(action: String, state widths: [(key: String, size: Int)], others: [String] = []) {
    self.action = action
    var start = 0
    state = widths.map { item in
      defer { start += item.size }
      return Segment(key: item.key, start: start, size: item.size)
    }
    otherStateCandidates = others
  }

  /// The source key that fills state dimension `dimension`.
  package func stateKey(of dimension: Int) -> String? {
    state.first { dimension >= $0.start && dimension < $0.start + $0.size }?.key
  }
}

/// Per-step rows made by concatenating several keys' rows (the state from several keys).
enum RowConcatenation {
  /// `count` rows, each the parts' rows one after another (a single part is returned as it is).
  static func rows(_ parts: [(values: [Double], width: Int)], count: Int) -> [Double] {
    if parts.count == 1 { return parts[0].values }
    let width = parts.reduce(0) { $0 + $1.width }
    var result: [Double] = []
    result.reserveCapacity(count * width)
    for step in 0..<count {
      for part in parts { result += part.values[(step * part.width)..<((step + 1) * part.width)] }
    }
    return result
  }
}
