import VlatuneSupport

/// `--camera-map`: which cameras of a source to take, in which order, under which names
/// (`front=observation.images.cam_high,wrist=observation.images.wrist`; a bare key keeps its
/// default name; `none` takes no cameras).
public struct CameraMap: Sendable, Equatable {
  /// One camera: its name in the package (or the default) and its key in the source.
  public struct Entry: Sendable, Equatable {
    public var slot: String?
    public var key: String
  }

  public var entries: [Entry]

  /// Parses the flag's text.
  ///
  /// - Throws: ``VlatuneError/invalidArgument(param:message:)`` naming the bad entry.
  public init(parsing text: String) throws {
    let trimmed = text.trimmingWhitespace()
    if trimmed.lowercased() == "none" {
      entries = []
      return
    }
    var entries: [Entry] = []
    for part in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
      let item = String(part).trimmingWhitespace()
      let pieces = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
        String($0).trimmingWhitespace()
      }
      guard !item.isEmpty, pieces.allSatisfy({ !$0.isEmpty }) else {
        throw VlatuneError.invalidArgument(
          param: "--camera-map",
          message: "entries must be slot=key or key, separated by commas (or 'none'), got '\(text)'")
      }
      let slot = pieces.count == 2 ? pieces[0] : nil
      if let slot, !EpisodeParser.isValidCameraKey(slot) {
        throw VlatuneError.invalidArgument(
          param: "--camera-map",
          message: "camera name '\(slot)' may use only letters, digits, '_' and '-' (at most 64)")
      }
      entries.append(Entry(slot: slot, key: pieces.count == 2 ? pieces[1] : pieces[0]))
    }
    self.entries = entries
  }

  /// The package name of a source camera key: the key without `observation.images.` or
  /// `observation.`, other characters than letters, digits, `_` and `-` replaced by `_`.
  public static func defaultSlot(for key: String) -> String {
    var name = Substring(key)
    for prefix in ["observation.images.", "observation.image.", "observation."]
    where name.hasPrefix(prefix) && name.count > prefix.count {
      name = name.dropFirst(prefix.count)
      break
    }
    let cleaned = String(
      name.unicodeScalars.map { scalar -> Character in
        let allowed =
          (scalar.value >= 0x30 && scalar.value <= 0x39) || (scalar.value >= 0x41 && scalar.value <= 0x5A)
          || (scalar.value >= 0x61 && scalar.value <= 0x7A) || scalar == "_" || scalar == "-"
        return allowed ? Character(scalar) : "_"
      })
    return String(cleaned.prefix(64))
  }

  /// The cameras to take from a source's `available` keys: the map's, in its order, or all of
  /// them, each with its package name.
  ///
  /// - Throws: ``VlatuneError/invalidArgument(param:message:)`` for an unknown key or a name
  ///   used twice.
  static func select(_ map: CameraMap?, available: [String]) throws -> [(slot: String, key: String)] {
    let pairs: [(slot: String, key: String)]
    if let map {
      for entry in map.entries where !available.contains(entry.key) {
        throw VlatuneError.invalidArgument(
          param: "--camera-map",
          message: "camera '\(entry.key)' is not in the dataset; available: "
            + (available.isEmpty ? "none" : available.joined(separator: ", ")))
      }
      pairs = map.entries.map { ($0.slot ?? defaultSlot(for: $0.key), $0.key) }
    } else {
      pairs = available.map { (defaultSlot(for: $0), $0) }
    }
    var seen: Set<String> = []
    for pair in pairs where !seen.insert(pair.slot).inserted {
      throw VlatuneError.invalidArgument(
        param: "--camera-map",
        message: "camera name '\(pair.slot)' is used twice; give each camera its own slot=key name")
    }
    return pairs
  }
}
