import Foundation
import VlatuneArchive
import VlatuneSupport

/// A LeRobotDataset inside an archive (.tar, .tar.gz, .tar.zst, .zip): Parquet footers and MP4
/// indexes need random access, so the archive is streamed once into a private scratch directory
/// (removed when the prepare ends; a crashed prepare's is swept by the next one).
enum LeRobotArchive {
  /// The most bytes extracted (a guard against archive bombs): the archive's own size × 64 or
  /// 1 TiB, whichever is smaller.
  static func byteLimit(archiveSize: Int64) -> Int64 { min(archiveSize * 64 + (1 << 30), 1 << 40) }

  /// Whether an archive entry is a LeRobotDataset's `meta/info.json` (at the top or under one
  /// top-level directory).
  static func isInfoFile(_ path: String) -> Bool {
    path == "meta/info.json"
      || (path.hasSuffix("/meta/info.json") && path.split(separator: "/").count == 3)
  }

  /// Extracts `archive` into `directory`; returns the dataset root inside it.
  ///
  /// - Throws: ``VlatuneError/invalidDataset(message:findings:)`` for unsafe entries (links,
  ///   absolute paths, `..`) or an archive with no `meta/info.json`.
  static func extract(
    _ archive: String, into directory: String, cancellation: CancellationToken, limit: Int64? = nil
  ) throws -> String {
    let reader = try ArchiveReader(path: archive)
    let limit = limit ?? byteLimit(archiveSize: FileIO.size(archive))
    var total: Int64 = 0
    var roots: [String] = []
    var extracted = Set<String>()
    while let entry = try reader.next() {
      try cancellation.check()
      if let problem = ArchiveSource.problem(with: entry) {
        throw VlatuneError.invalidDataset(
          message: "\(entry.path): \(problem)",
          findings: [Diagnostic(.error, code: "unsafe_entry", message: problem, field: entry.path)])
      }
      let trimmed = entry.path.hasSuffix("/") ? String(entry.path.dropLast()) : entry.path
      guard let components = SourcePath.components(trimmed), !components.isEmpty,
        entry.kind == .regular,
        !components.contains(where: { $0.hasPrefix("._") || $0 == "__MACOSX" })
      else {
        try reader.skip()
        continue
      }
      let relative = components.joined(separator: "/")
      guard extracted.insert(relative).inserted else {
        let message =
          "the archive holds \(relative) more than once; the copies would replace each "
          + "other silently, so recreate the archive with one"
        throw VlatuneError.invalidDataset(
          message: "\(archive): \(message)",
          findings: [Diagnostic(.error, code: "duplicate_entry", message: message, field: relative)])
      }
      let destination = directory + "/" + relative
      try FileManager.default.createDirectory(
        atPath: SourcePath.parent(destination), withIntermediateDirectories: true)
      do {
        // The budget is enforced while the entry streams: a small archive cannot fill the disk.
        total += try reader.extract(to: destination, limit: limit - total)
      } catch is ArchiveSizeLimitExceeded {
        throw VlatuneError.invalidDataset(
          message: "\(archive) expands to more than \(limit) bytes (\(relative) crossed the limit); "
            + "extract it yourself if that is expected",
          findings: [
            Diagnostic(.error, code: "archive_too_large", message: "expands past \(limit) bytes", field: relative)
          ])
      }
      if Array(components.suffix(2)) == ["meta", "info.json"] && components.count <= 3 {
        roots.append(components.dropLast(2).joined(separator: "/"))
      }
    }
    guard let root = roots.min(by: { $0.count < $1.count }) else {
      throw VlatuneError.invalidDataset(
        message: "\(archive) holds no meta/info.json at its top or under one directory; is it a "
          + "LeRobotDataset?", findings: [])
    }
    return root.isEmpty ? directory : directory + "/" + root
  }
}
