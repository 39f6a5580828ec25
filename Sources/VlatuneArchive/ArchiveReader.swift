internal import CArchive
import Glibc
import VlatuneSupport

/// Streams the entries of a tar (plain, gzip, zstd, xz, bzip2) or zip archive through libarchive,
/// without unpacking anything to disk.
///
/// - Important: Entries must be read in order: call ``next()``, then read or skip its data.
public final class ArchiveReader {
  private let handle: OpaquePointer
  /// The archive's path.
  public let path: String

  /// Opens an archive for streaming.
  ///
  /// - Parameter path: A file path; the format is detected from the content, not the name.
  /// - Throws: ``ArchiveError`` when the file cannot be opened.
  public init(path: String) throws {
    guard let handle = archive_read_new() else {
      throw ArchiveError(operation: "open", path: path, message: "out of memory", errno: 0)
    }
    self.handle = handle
    self.path = path
    archive_read_support_format_tar(handle)
    archive_read_support_format_zip(handle)
    archive_read_support_filter_gzip(handle)
    archive_read_support_filter_zstd(handle)
    archive_read_support_filter_xz(handle)
    archive_read_support_filter_bzip2(handle)
    try checkArchive(
      archive_read_open_filename(handle, path, 1 << 20), handle, operation: "open", path: path)
  }

  deinit { archive_read_free(handle) }

  /// Reads the next entry's header.
  ///
  /// - Returns: The entry, or `nil` at the end of the archive.
  /// - Throws: ``ArchiveError`` for an unrecognised format or corrupt data.
  public func next() throws -> ArchiveEntry? {
    var entry: OpaquePointer?
    let code = try checkArchive(
      archive_read_next_header(handle, &entry), handle, operation: "read header", path: path)
    guard code != ARCHIVE_EOF, let entry else { return nil }
    var (name, valid) = archive_entry_pathname(entry).map(FileName.text) ?? ("", true)
    while name.hasPrefix("./") { name.removeFirst(2) }
    let kind: ArchiveEntry.Kind
    if archive_entry_hardlink(entry) != nil {
      kind = .hardlink
    } else {
      switch archive_entry_filetype(entry) & 0o170000 {
      case 0o100000: kind = .regular
      case 0o040000: kind = .directory
      case 0o120000: kind = .symlink
      default: kind = .special
      }
    }
    let size = archive_entry_size_is_set(entry) != 0 ? archive_entry_size(entry) : 0
    return ArchiveEntry(path: name, kind: kind, size: size, nameIsUTF8: valid)
  }

  /// Reads the current entry's data completely.
  ///
  /// - Parameter limit: The most bytes accepted; a larger entry throws instead of exhausting memory.
  /// - Returns: The entry's bytes.
  /// - Throws: ``ArchiveError`` for truncated or corrupt data, ``ArchiveSizeLimitExceeded`` for
  ///   an entry over `limit`.
  public func readAll(limit: Int) throws -> [UInt8] {
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let count = chunk.withUnsafeMutableBytes { buffer in
        archive_read_data(handle, buffer.baseAddress, buffer.count)
      }
      if count < 0 {
        try checkArchive(Int32(count), handle, operation: "read data", path: path)
      }
      if count <= 0 { break }
      result.append(contentsOf: chunk.prefix(count))
      if result.count > limit { throw ArchiveSizeLimitExceeded(limit: Int64(limit)) }
    }
    return result
  }

  /// Streams the current entry's data into a new file at `destination` (created 0600, never
  /// overwriting), 64 KiB at a time.
  ///
  /// - Parameter limit: The most bytes this entry may expand to; beyond it the write stops and
  ///   ``ArchiveSizeLimitExceeded`` is thrown (enforced while streaming, not after).
  /// - Returns: The number of bytes written.
  /// - Throws: ``ArchiveError`` for corrupt data, ``ArchiveSizeLimitExceeded`` for an entry over
  ///   `limit`, ``VlatuneError/ioFailure(path:message:)`` when the file cannot be written.
  @discardableResult
  public func extract(to destination: String, limit: Int64 = .max) throws -> Int64 {
    let descriptor = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else {
      throw VlatuneError.ioFailure(path: destination, message: String(cString: strerror(errno)))
    }
    defer { close(descriptor) }
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    var total: Int64 = 0
    while true {
      let count = chunk.withUnsafeMutableBytes { buffer in
        archive_read_data(handle, buffer.baseAddress, buffer.count)
      }
      if count < 0 {
        try checkArchive(Int32(count), handle, operation: "read data", path: path)
      }
      if count <= 0 { break }
      if total + Int64(count) > limit { throw ArchiveSizeLimitExceeded(limit: limit) }
      var written = 0
      while written < count {
        let result = chunk.withUnsafeBytes { buffer in
          write(descriptor, buffer.baseAddress! + written, count - written)
        }
        if result < 0 && errno == EINTR { continue }
        guard result > 0 else {
          throw VlatuneError.ioFailure(path: destination, message: String(cString: strerror(errno)))
        }
        written += result
      }
      total += Int64(count)
    }
    return total
  }

  /// Skips the current entry's data.
  ///
  /// - Throws: ``ArchiveError`` for corrupt data.
  public func skip() throws {
    try checkArchive(
      archive_read_data_skip(handle), handle, operation: "skip data", path: path)
  }
}

/// An entry that expanded past the limit it was extracted with.
public struct ArchiveSizeLimitExceeded: Error, Sendable, Equatable {
  /// The limit, in bytes.
  public var limit: Int64
}
