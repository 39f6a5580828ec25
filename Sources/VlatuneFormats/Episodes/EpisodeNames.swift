import VlatuneSupport

/// Episode names of a directory source.
enum EpisodeNames {
  /// Names episodes by their directory, dropping leading components all of them share.
  static func fromDirectories(_ directories: [String]) -> [String] {
    var parts = directories.map { $0.split(separator: "/").map(String.init) }
    while parts.allSatisfy({ $0.count >= 2 }), let first = parts.first?.first,
      parts.allSatisfy({ $0.first == first })
    {
      parts = parts.map { Array($0.dropFirst()) }
    }
    return parts.map { $0.isEmpty ? "episode" : $0.joined(separator: "/") }
  }
}
