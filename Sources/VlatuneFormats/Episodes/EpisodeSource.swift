import VlatuneSupport

/// One episode found by a source scan, with where its `meta.json` and `steps.jsonl` are.
struct ScannedEpisode {
  /// Where the two text files are.
  enum Contents {
    /// In the source directory `root`: read when the episode is parsed, so that pass 1 never
    /// holds more than one episode's `steps.jsonl` (about 250 bytes a step).
    case directory(root: String)
    /// Already read from an archive's stream (an archive is read front to back once).
    case bytes(meta: [UInt8], steps: [UInt8]?)
  }

  /// The episode directory inside the source (`""` for the root).
  var directory: String
  var contents: Contents

  /// The bytes of `meta.json` and, when present, `steps.jsonl`.
  func read() throws -> (meta: [UInt8], steps: [UInt8]?) {
    switch contents {
    case .bytes(let meta, let steps):
      return (meta, steps)
    case .directory(let root):
      let prefix = directory.isEmpty ? root : root + "/" + directory
      let meta = try FileIO.read(prefix + "/meta.json", limit: maximumMetadataBytes)
      let stepsPath = prefix + "/steps.jsonl"
      let steps =
        FileIO.kind(stepsPath) == .regular
        ? try FileIO.read(stepsPath, limit: maximumMetadataBytes) : nil
      return (meta, steps)
    }
  }
}

/// The result of pass 1 over a source.
struct SourceScan {
  /// Episodes in no particular order.
  package var episodes: [ScannedEpisode] = []
  /// Paths of every regular file in the source.
  package var files = PathSet()
  /// Total bytes of regular files (for progress).
  package var totalBytes: Int64 = 0
  /// Problems with the source itself (unsafe archive entries).
  package var diagnostics: [Diagnostic] = []
}

/// Where a step's image goes: the episode's position in the prepare order and the slot
/// (`step × cameras + camera`).
struct ImageSlot {
  var episode: Int
  var slot: Int
}

/// A dataset source in the `episodes` format: a directory or an archive, read in two passes
/// (its ``DatasetSource/inventory(cancellation:)`` scans, then parses each episode).
protocol EpisodeSource: DatasetSource {
  /// `directory` or the archive kind, for messages.
  var kind: String { get }
  /// `--fps`, for episodes whose `meta.json` records none.
  var defaultFPS: Double? { get }

  /// Pass 1: finds every episode's `meta.json` and `steps.jsonl` and lists the files present.
  func scan(cancellation: CancellationToken) throws -> SourceScan
}

extension EpisodeSource {
  /// Maps every referenced image path to the slots that use it.
  func imageSlots(of episodes: [EpisodeRecord]) -> [String: [ImageSlot]] {
    var slots: [String: [ImageSlot]] = [:]
    for (index, episode) in episodes.enumerated() {
      for (slot, path) in episode.imagePaths.enumerated() where !path.isEmpty {
        slots[path, default: []].append(ImageSlot(episode: index, slot: slot))
      }
    }
    return slots
  }
}

/// The largest metadata file read into memory (`meta.json`, `steps.jsonl`).
let maximumMetadataBytes = 1 << 30
/// The largest single image read into memory.
let maximumImageBytes = 256 << 20
