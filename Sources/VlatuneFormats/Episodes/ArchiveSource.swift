import VlatuneArchive
import VlatuneSupport

/// An `episodes` dataset inside a tar (optionally gzip/zstd/xz/bzip2-compressed) or zip archive,
/// streamed through libarchive and never unpacked to disk.
///
/// Pass 2 buffers the images of an episode until all of them have been seen, so memory is
/// bounded by the largest set of episodes that are open at once in archive order (one episode
/// for archives made from a directory tree).
package struct ArchiveSource: EpisodeSource {
  let path: String
  /// `--fps`, for episodes whose `meta.json` records none.
  var defaultFPS: Double?
  /// The most bytes of `meta.json` and `steps.jsonl`, all episodes together, held from the
  /// archive until they are parsed.
  var metadataBudget = maximumMetadataBytes
  var kind: String { "archive" }

  /// The archive at `path`; `defaultFPS` for episodes that record none.
  package init(path: String, defaultFPS: Double? = nil) {
    self.path = path
    self.defaultFPS = defaultFPS
  }

  func scan(cancellation: CancellationToken) throws -> SourceScan {
    var scan = SourceScan()
    var metas: [String: [UInt8]] = [:]
    var steps: [String: [UInt8]] = [:]
    var held = 0
    let reader = try open()
    while let entry = try next(reader) {
      try cancellation.check()
      if let problem = Self.problem(with: entry) {
        scan.diagnostics.append(
          Diagnostic(.error, code: "unsafe_entry", message: problem, field: entry.path))
        try reader.skip()
        continue
      }
      guard entry.kind == .regular else {
        try reader.skip()
        continue
      }
      let name = SourcePath.basename(entry.path)
      if name.hasPrefix("._") || entry.path.hasPrefix("__MACOSX/") {
        try reader.skip()
        continue
      }
      guard !scan.files.contains(entry.path) else {
        scan.diagnostics.append(
          Diagnostic(
            .error, code: "duplicate_entry",
            message: "the archive holds \(entry.path) more than once; the copies would replace each "
              + "other silently, so recreate the archive with one", field: entry.path))
        try reader.skip()
        continue
      }
      scan.files.insert(entry.path)
      scan.totalBytes += entry.size
      if name == "meta.json" || name == "steps.jsonl" {
        // Held until the episodes are parsed: the budget is for all of them together, so that
        // a small archive of blank lines cannot fill memory.
        let budget = metadataBudget - held
        let bytes: [UInt8]
        do {
          bytes = try reader.readAll(limit: budget)
        } catch is ArchiveSizeLimitExceeded {
          throw VlatuneError.invalidDataset(
            message: "the archive's meta.json and steps.jsonl files together pass "
              + "\(ByteSize.format(Int64(metadataBudget))) at \(entry.path); split the dataset",
            findings: [
              Diagnostic(.error, code: "metadata_too_large", message: "past the metadata budget", field: entry.path)
            ])
        } catch let error as ArchiveError {
          throw VlatuneError.invalidDataset(
            message: "cannot read the archive \(path): \(error.message)",
            findings: [Diagnostic(.error, code: "corrupt_archive", message: error.message, field: path)])
        }
        held += bytes.count
        if name == "meta.json" {
          metas[SourcePath.parent(entry.path)] = bytes
        } else {
          steps[SourcePath.parent(entry.path)] = bytes
        }
      } else {
        try reader.skip()
      }
    }
    scan.episodes = metas.map { directory, meta in
      ScannedEpisode(directory: directory, contents: .bytes(meta: meta, steps: steps[directory]))
    }
    return scan
  }

  /// Why an entry is refused, or `nil` when it is safe to read.
  static func problem(with entry: ArchiveEntry) -> String? {
    if !entry.nameIsUTF8 {
      return "the entry's name is not UTF-8, so it could be read as another entry's; rename it "
        + "(or recreate the archive with UTF-8 names)"
    }
    switch entry.kind {
    case .symlink:
      return "symbolic links are not allowed in a dataset archive; archive the file itself"
    case .hardlink:
      return "hard links are not allowed in a dataset archive; archive the file itself"
    case .special:
      return "device files, FIFOs and sockets are not allowed in a dataset archive"
    case .regular, .directory:
      break
    }
    let trimmed = entry.path.hasSuffix("/") ? String(entry.path.dropLast()) : entry.path
    if trimmed.isEmpty || trimmed == "." { return nil }
    if SourcePath.components(trimmed) == nil {
      return "absolute paths and '..' components are not allowed in a dataset archive"
    }
    return nil
  }

  package func readImages(
    of episodes: [EpisodeRecord], cancellation: CancellationToken,
    deliver: (Int, [[UInt8]], Int64) throws -> Void
  ) throws {
    let slots = imageSlots(of: episodes)
    var pending: [Int: [[UInt8]]] = [:]
    var remaining = episodes.map { $0.imagePaths.count }
    var bytesRead: Int64 = 0
    for (index, count) in remaining.enumerated() where count == 0 {
      try deliver(index, [], bytesRead)
    }
    let reader = try open()
    while let entry = try next(reader) {
      try cancellation.check()
      guard entry.kind == .regular, let targets = slots[entry.path] else {
        try reader.skip()
        continue
      }
      let bytes = try read(reader, limit: maximumImageBytes, entry: entry.path)
      bytesRead += Int64(bytes.count)
      for target in targets {
        var images =
          pending[target.episode]
          ?? [[UInt8]](repeating: [], count: episodes[target.episode].imagePaths.count)
        images[target.slot] = bytes
        remaining[target.episode] -= 1
        if remaining[target.episode] == 0 {
          pending[target.episode] = nil
          try deliver(target.episode, images, bytesRead)
        } else {
          pending[target.episode] = images
        }
      }
    }
    if let missing = remaining.firstIndex(where: { $0 > 0 }) {
      throw VlatuneError.ioFailure(
        path: path,
        message: "episode \(episodes[missing].name) lost images between the two reads of the "
          + "archive; was the file modified during prepare?")
    }
  }

  private func open() throws -> ArchiveReader {
    do {
      return try ArchiveReader(path: path)
    } catch let error as ArchiveError {
      throw VlatuneError.ioFailure(path: path, message: error.message)
    }
  }

  private func next(_ reader: ArchiveReader) throws -> ArchiveEntry? {
    do {
      return try reader.next()
    } catch let error as ArchiveError {
      throw VlatuneError.invalidDataset(
        message: "cannot read the archive \(path): \(error.message)",
        findings: [
          Diagnostic(.error, code: "corrupt_archive", message: error.message, field: path)
        ])
    }
  }

  private func read(_ reader: ArchiveReader, limit: Int, entry: String) throws -> [UInt8] {
    do {
      return try reader.readAll(limit: limit)
    } catch let error as ArchiveSizeLimitExceeded {
      throw VlatuneError.invalidDataset(
        message: "\(entry) in the archive \(path) is larger than \(ByteSize.format(error.limit))",
        findings: [
          Diagnostic(.error, code: "entry_too_large", message: "larger than \(error.limit) bytes", field: entry)
        ])
    } catch let error as ArchiveError {
      throw VlatuneError.invalidDataset(
        message: "cannot read the archive \(path): \(error.message)",
        findings: [
          Diagnostic(.error, code: "corrupt_archive", message: error.message, field: path)
        ])
    }
  }
}
