import VlatuneArchive
import VlatuneSupport

/// Checks that a regular file is an archive libarchive can stream (tar, compressed tar, zip).
package enum ArchiveProbe {
  package static func check(_ path: String) throws {
    do {
      let reader = try ArchiveReader(path: path)
      _ = try reader.next()
    } catch let error as ArchiveError {
      let lowered = path.lowercased()
      let knownExtension = [".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.xz", ".tar.bz2", ".zip"]
        .contains { lowered.hasSuffix($0) }
      if knownExtension {
        throw VlatuneError.invalidDataset(
          message: "cannot read the archive \(path): \(error.message)",
          findings: [
            Diagnostic(.error, code: "corrupt_archive", message: error.message, field: path)
          ])
      }
      throw VlatuneError.invalidArgument(
        param: "SOURCE",
        message: "'\(path)' is not a supported archive (\(error.message)); give a directory or "
          + "a .tar, .tar.gz, .tar.zst or .zip archive")
    }
  }
}
