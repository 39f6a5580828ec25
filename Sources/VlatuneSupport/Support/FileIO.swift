import Foundation
import Glibc

/// Small POSIX helpers that report failures as ``VlatuneError/ioFailure(path:message:)``.
public enum FileIO {
  /// Reads a whole file.
  ///
  /// - Parameter limit: The most bytes accepted.
  public static func read(_ path: String, limit: Int = Int.max) throws -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw failure(path) }
    defer { close(descriptor) }
    var info = stat()
    guard fstat(descriptor, &info) == 0 else { throw failure(path) }
    let size = Int(info.st_size)
    guard size <= limit else {
      throw VlatuneError.ioFailure(path: path, message: "file is larger than \(limit) bytes")
    }
    // Read straight into uninitialized storage: every image passes through here, and zeroing
    // the buffer first would be one more pass over the dataset.
    var readError: Int32 = 0
    let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
      var offset = 0
      while offset < size {
        let count = Glibc.read(descriptor, buffer.baseAddress! + offset, size - offset)
        if count < 0 {
          if errno == EINTR { continue }
          readError = errno
          break
        }
        if count == 0 { break }
        offset += count
      }
      initialized = offset
    }
    if readError != 0 {
      throw VlatuneError.ioFailure(path: path, message: String(cString: strerror(readError)))
    }
    return bytes
  }

  /// Writes a file atomically enough for a package under construction: create, write, fsync.
  public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws {
    try write(to: path, mode: mode) { append in try append(bytes) }
  }

  /// Writes a file in pieces (create, write each piece `produce` hands to `append`, fsync), so
  /// a large file never has to be in memory at once.
  public static func write(
    to path: String, mode: mode_t = 0o644, _ produce: (_ append: ([UInt8]) throws -> Void) throws -> Void
  ) throws {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
    guard descriptor >= 0 else { throw failure(path) }
    defer { close(descriptor) }
    try produce { bytes in
      var offset = 0
      while offset < bytes.count {
        let count = bytes.withUnsafeBytes { buffer in
          Glibc.write(descriptor, buffer.baseAddress! + offset, bytes.count - offset)
        }
        if count < 0 {
          if errno == EINTR { continue }
          throw failure(path)
        }
        offset += count
      }
    }
    guard fsync(descriptor) == 0 else { throw failure(path) }
  }

  /// Writes a string as UTF-8.
  public static func write(_ text: String, to path: String) throws {
    try write(Array(text.utf8), to: path)
  }

  /// The kind of object at a path, following symbolic links.
  public enum Kind { case missing, regular, directory, other }

  /// What is at `path`.
  public static func kind(_ path: String) -> Kind {
    var info = stat()
    guard stat(path, &info) == 0 else { return .missing }
    switch info.st_mode & S_IFMT {
    case S_IFREG: return .regular
    case S_IFDIR: return .directory
    default: return .other
    }
  }

  /// Size of the file at `path` (0 when it cannot be read).
  public static func size(_ path: String) -> Int64 {
    var info = stat()
    guard stat(path, &info) == 0 else { return 0 }
    return Int64(info.st_size)
  }

  /// The bytes of the regular files in a directory tree (not following links; 0 when absent).
  public static func treeSize(_ path: String) -> Int64 {
    guard let walker = FileManager.default.enumerator(atPath: path) else { return 0 }
    var total: Int64 = 0
    while let name = walker.nextObject() as? String {
      var info = stat()
      if lstat(path + "/" + name, &info) == 0 && info.st_mode & S_IFMT == S_IFREG { total += Int64(info.st_size) }
    }
    return total
  }

  /// Removes a file or a directory tree; a missing path is not an error.
  public static func removeTree(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
  }

  private static func failure(_ path: String) -> VlatuneError {
    VlatuneError.ioFailure(path: path, message: String(cString: strerror(errno)))
  }
}
