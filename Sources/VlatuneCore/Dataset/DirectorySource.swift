import Foundation

/// An `episodes` dataset in a directory tree.
struct DirectorySource: EpisodeSource {
  let root: String
  var kind: String { "directory" }

  func scan(cancellation: CancellationToken) throws -> SourceScan {
    var scan = SourceScan()
    guard let enumerator = FileManager.default.enumerator(atPath: root) else {
      throw VlatuneError.ioFailure(path: root, message: "cannot list the directory")
    }
    var episodeDirectories: [String] = []
    while let relative = enumerator.nextObject() as? String {
      try cancellation.check()
      let name = SourcePath.basename(relative)
      if name.hasPrefix(".") {
        if FileIO.kind(root + "/" + relative) == .directory { enumerator.skipDescendants() }
        continue
      }
      guard FileIO.kind(root + "/" + relative) == .regular else { continue }
      scan.files.insert(relative)
      scan.totalBytes += FileIO.size(root + "/" + relative)
      if name == "meta.json" { episodeDirectories.append(SourcePath.parent(relative)) }
    }
    scan.episodes = episodeDirectories.map {
      ScannedEpisode(directory: $0, contents: .directory(root: root))
    }
    return scan
  }

  func readImages(
    of episodes: [EpisodeRecord], cancellation: CancellationToken,
    deliver: (Int, [[UInt8]], Int64) throws -> Void
  ) throws {
    var bytesRead: Int64 = 0
    for (index, episode) in episodes.enumerated() {
      var images: [[UInt8]] = []
      images.reserveCapacity(episode.imagePaths.count)
      for path in episode.imagePaths {
        try cancellation.check()
        let bytes = try FileIO.read(root + "/" + path, limit: maximumImageBytes)
        bytesRead += Int64(bytes.count)
        images.append(bytes)
      }
      try deliver(index, images, bytesRead)
    }
  }
}
