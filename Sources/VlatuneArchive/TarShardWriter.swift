internal import CArchive
internal import CFileIO
import Glibc
import VlatuneSupport

/// Writes one POSIX (pax restricted) tar file with libarchive, hashing the bytes as they go to
/// disk (on a ``BlockWriter`` thread) so that the shard's SHA-256 is known when it is closed.
///
/// Entries get mode 0644, owner 0:0 and a fixed modification time, so the same samples always
/// produce the same bytes.
public final class TarShardWriter {
  /// The sink libarchive's write callback feeds: 1 MiB blocks handed to a ``BlockWriter``
  /// (write and hash on its own thread) and the first write error (libarchive's callbacks
  /// cannot throw).
  ///
  /// libarchive writes unblocked (`bytes_per_block` 0): each header, file and padding reaches
  /// the callback as given, and is copied once, into the block being filled. (libarchive's own
  /// 1 MiB blocking copied every byte into its buffer, which the callback then had to copy
  /// again, since libarchive reuses it.)
  private final class Sink {
    static let blockBytes = 1 << 20
    let descriptor: Int32
    /// The file opened a second time with `O_DIRECT`, or -1 where the file system refuses it.
    let directDescriptor: Int32
    let writer: BlockWriter
    var failure: Int32 = 0
    private var block: AlignedBlock

    init(descriptor: Int32, directDescriptor: Int32) {
      self.descriptor = descriptor
      self.directDescriptor = directDescriptor
      writer = BlockWriter(
        descriptor: descriptor, direct: directDescriptor >= 0 ? directDescriptor : nil)
      block = AlignedBlock(capacity: Self.blockBytes)
    }

    func write(_ buffer: UnsafeRawBufferPointer) -> Int {
      guard failure == 0 else { return -1 }
      var rest = buffer
      while !rest.isEmpty {
        let taken = block.append(rest)
        rest = UnsafeRawBufferPointer(rebasing: rest.dropFirst(taken))
        if block.room == 0, !flush() { return -1 }
      }
      return buffer.count
    }

    /// Hands the block filled so far to the writer; false after a write failure.
    func flush() -> Bool {
      guard failure == 0 else { return false }
      guard block.count > 0 else { return true }
      let full = block
      block = writer.emptyBlock(capacity: Self.blockBytes)
      failure = writer.append(full)
      return failure == 0
    }
  }

  private let handle: OpaquePointer
  private let entry: OpaquePointer
  private let sink: Sink
  private var finished = false
  /// The shard's path.
  public let path: String

  /// Creates the file (it must not exist) and starts the archive.
  ///
  /// - Throws: ``ArchiveError`` when the file cannot be created.
  public init(path: String) throws {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else {
      throw ArchiveError(
        operation: "create", path: path, message: String(cString: strerror(errno)), errno: errno)
    }
    guard let handle = archive_write_new(), let entry = archive_entry_new() else {
      close(descriptor)
      throw ArchiveError(operation: "create", path: path, message: "out of memory", errno: 0)
    }
    self.handle = handle
    self.entry = entry
    // -1 off local disk file systems (tmpfs, NFS, …): the sink then writes normally.
    let direct = vt_open_direct(path)
    self.sink = Sink(descriptor: descriptor, directDescriptor: direct)
    self.path = path
    archive_write_set_format_pax_restricted(handle)
    archive_write_add_filter_none(handle)
    archive_write_set_bytes_per_block(handle, 0)
    archive_write_set_bytes_in_last_block(handle, 1)
    let context = Unmanaged.passUnretained(sink).toOpaque()
    try check(
      archive_write_open2(
        handle, context, nil,
        { _, context, buffer, length in
          guard let context, let buffer else { return -1 }
          let sink = Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue()
          return sink.write(UnsafeRawBufferPointer(start: buffer, count: length))
        }, nil, nil), "open")
  }

  deinit {
    archive_entry_free(entry)
    archive_write_free(handle)
    _ = sink.writer.finish()
    close(sink.descriptor)
    if sink.directDescriptor >= 0 { close(sink.directDescriptor) }
  }

  private var entryBytes: Int64 = 0

  /// The size the archive has reached so far (headers and padded data of the entries added),
  /// including bytes still in the sink's 1 MiB block.
  public var bytesWritten: Int64 { entryBytes }

  /// Appends one regular file.
  ///
  /// - Parameters:
  ///   - name: The entry's path inside the tar.
  ///   - bytes: The file's content, written unchanged.
  /// - Throws: ``ArchiveError`` when writing fails (for example, the disk is full).
  public func addFile(name: String, bytes: UnsafeRawBufferPointer) throws {
    archive_entry_clear(entry)
    archive_entry_set_pathname(entry, name)
    archive_entry_set_filetype(entry, 0o100000)
    archive_entry_set_perm(entry, 0o644)
    archive_entry_set_size(entry, Int64(bytes.count))
    archive_entry_set_mtime(entry, 0, 0)
    archive_entry_set_uid(entry, 0)
    archive_entry_set_gid(entry, 0)
    try check(archive_write_header(handle, entry), "write header")
    let headerBytes: Int64 = name.utf8.count > 100 ? 1536 : 512
    entryBytes += headerBytes + (Int64(bytes.count) + 511) / 512 * 512
    if bytes.count > 0 {
      let written = archive_write_data(handle, bytes.baseAddress, bytes.count)
      if written < 0 { try check(Int32(written), "write data") }
    }
  }

  /// Appends one regular file.
  public func addFile(name: String, bytes: [UInt8]) throws {
    try bytes.withUnsafeBytes { try addFile(name: name, bytes: $0) }
  }

  /// Writes the end-of-archive blocks, flushes the file to disk and closes it.
  ///
  /// - Returns: The file's size in bytes and its SHA-256 (hex).
  /// - Throws: ``ArchiveError`` when the final write or the flush fails.
  public func finish() throws -> (bytes: Int64, sha256: String) {
    precondition(!finished, "finish() called twice")
    finished = true
    try check(archive_write_close(handle), "close")
    _ = sink.flush()
    let result: (bytes: Int64, sha256: String)
    switch sink.writer.finish() {
    case .success(let written): result = written
    case .failure(let failure):
      throw ArchiveError(
        operation: "write", path: path, message: String(cString: strerror(failure.errno)),
        errno: failure.errno)
    }
    if fsync(sink.descriptor) != 0 {
      throw ArchiveError(
        operation: "fsync", path: path, message: String(cString: strerror(errno)), errno: errno)
    }
    return result
  }

  private func check(_ code: Int32, _ operation: String) throws {
    let sinkMessage = sink.failure != 0 ? String(cString: strerror(sink.failure)) : nil
    try checkArchive(code, handle, operation: operation, path: path, overrideMessage: sinkMessage)
  }
}
