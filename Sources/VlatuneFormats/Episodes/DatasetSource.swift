import VlatuneSupport

/// What pass 1 over a source found: every episode parsed, with the source's own problems.
package struct SourceInventory {
  /// Parsed episodes in no particular order (unusable ones are left out, with errors).
  package var episodes: [EpisodeRecord] = []
  /// Every regular file in the source, to check image references against; `nil` when the
  /// source resolves its images itself (LeRobot).
  package var files: PathSet?
  /// Total bytes of the source (for progress).
  package var totalBytes: Int64 = 0
  /// Warnings and errors about the source (unsafe archive entries, unreadable files).
  package var diagnostics: [Diagnostic] = []
  /// Which source keys fill the action and the state (`nil` for vlatune's own format).
  package var keys: SourceKeys?
}

/// A dataset source of any format, read in two passes: numeric data and metadata first
/// (validated and summarised before anything is written), then images episode by episode.
package protocol DatasetSource {
  /// The format, recorded in the dataset document.
  var format: SourceFormat { get }

  /// Pass 1: parses every episode's metadata and numeric data.
  func inventory(cancellation: CancellationToken) throws -> SourceInventory

  /// Pass 2: delivers the image bytes of every episode, one complete episode at a time.
  ///
  /// - Parameters:
  ///   - episodes: The validated episodes, in prepare order.
  ///   - deliver: Called with the episode's index and its images, `stepCount × cameras`,
  ///     step-major; `bytesRead` counts source bytes consumed so far.
  func readImages(
    of episodes: [EpisodeRecord], cancellation: CancellationToken,
    deliver: (_ index: Int, _ images: [[UInt8]], _ bytesRead: Int64) throws -> Void
  ) throws
}

extension EpisodeSource {
  package var format: SourceFormat { .episodes }

  /// Scans the source and parses each episode's `meta.json` and `steps.jsonl`.
  package func inventory(cancellation: CancellationToken) throws -> SourceInventory {
    var scan = try self.scan(cancellation: cancellation)
    var inventory = SourceInventory(
      files: scan.files, totalBytes: scan.totalBytes, diagnostics: scan.diagnostics)
    guard !scan.episodes.isEmpty else {
      guard !scan.files.hasLeRobotInfo else {
        throw LeRobotDatasetFound(
          error: .invalidDataset(
            message: "no episodes found in the \(kind): it holds a LeRobotDataset "
              + "(meta/info.json): pass --format lerobot", findings: scan.diagnostics))
      }
      throw VlatuneError.invalidDataset(
        message: "no episodes found in the \(kind): expected <root>/<episode>/meta.json and "
          + "steps.jsonl (see docs/dataset-format.md)", findings: scan.diagnostics)
    }
    let names = EpisodeNames.fromDirectories(scan.episodes.map(\.directory))
    for (index, episodeName) in names.enumerated() {
      try cancellation.check()
      let scanned = scan.episodes[index]
      let (meta, steps) = try scanned.read()
      // An archive's bytes are dropped as soon as they are parsed.
      scan.episodes[index].contents = .bytes(meta: [], steps: nil)
      var parser = EpisodeParser(name: episodeName, directory: scanned.directory, defaultFPS: defaultFPS)
      if let record = parser.parse(meta: meta, steps: steps) {
        inventory.episodes.append(record)
      }
      inventory.diagnostics += parser.diagnostics
    }
    return inventory
  }
}

/// An `episodes` scan found a LeRobotDataset instead (its `meta/info.json`): with
/// `--format auto` the preparer reads the source again as LeRobot, otherwise `error` says so.
package struct LeRobotDatasetFound: Error {
  package let error: VlatuneError
}
