import VlatuneSupport

/// The set of file paths a source holds, for checking image references, kept as the first 128
/// bits of each path's SHA-256 instead of the path itself: a directory of millions of images
/// then costs 16 bytes a file rather than a heap-allocated `String` in a hash table. (Two
/// distinct paths sharing 128 bits of SHA-256 is not a practical concern.)
package struct PathSet: Sendable {
  private struct Key: Hashable, Sendable {
    var high: UInt64
    var low: UInt64
  }

  private var keys: Set<Key> = []
  /// Whether a `meta/info.json` at the top or one level down was seen (a LeRobotDataset, for
  /// the hint when no `episodes` episode is found).
  private(set) var hasLeRobotInfo = false

  /// No paths.
  package init() {}

  /// The number of paths.
  var count: Int { keys.count }

  /// Adds a path.
  mutating func insert(_ path: String) {
    keys.insert(Self.key(path))
    if LeRobotArchive.isInfoFile(path) { hasLeRobotInfo = true }
  }

  /// Whether `path` was added.
  package func contains(_ path: String) -> Bool { keys.contains(Self.key(path)) }

  private static func key(_ path: String) -> Key {
    let digest = SHA256Hasher.digest(Array(path.utf8))
    func word(_ offset: Int) -> UInt64 {
      digest[offset..<(offset + 8)].reduce(0) { $0 << 8 | UInt64($1) }
    }
    return Key(high: word(0), low: word(8))
  }
}
