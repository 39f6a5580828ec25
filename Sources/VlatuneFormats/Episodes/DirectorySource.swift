import Foundation
import VlatuneSupport

/// An `episodes` dataset in a directory tree.
package struct DirectorySource: EpisodeSource {
  package let root: String
  /// `--fps`, for episodes whose `meta.json` records none.
  var defaultFPS: Double?
  /// Links that leave the source: refused, or followed into `dataset_roots`.
  var links: LinkRule = .refuse
  var kind: String { "directory" }

  /// The tree under `root`; `defaultFPS` for episodes that record none.
  package init(root: String, defaultFPS: Double?, links: LinkRule = .refuse) {
    self.root = root
    self.defaultFPS = defaultFPS
    self.links = links
  }

  func scan(cancellation: CancellationToken) throws -> SourceScan {
    var scan = SourceScan()
    var episodeDirectories: [String] = []
    try DirectoryWalk.regularFiles(under: root, links: links, cancellation: cancellation) { relative, size in
      scan.files.insert(relative)
      scan.totalBytes += size
      if SourcePath.basename(relative) == "meta.json" {
        episodeDirectories.append(SourcePath.parent(relative))
      }
    }
    scan.episodes = episodeDirectories.map {
      ScannedEpisode(directory: $0, contents: .directory(root: root))
    }
    return scan
  }

  package func readImages(
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
