import Glibc

/// An exclusive `flock` on a file, released when the value is closed or the process dies (the
/// kernel drops it), which is what makes it a reliable liveness signal.
public final class FileLock {
  /// The open descriptor holding the lock.
  public let descriptor: Int32
  /// The lock file's path.
  public let path: String

  private init(descriptor: Int32, path: String) {
    self.descriptor = descriptor
    self.path = path
  }

  deinit { close(descriptor) }

  /// Takes the lock without waiting.
  ///
  /// - Returns: The held lock, or `nil` when another open file description holds it.
  /// - Throws: ``VlatuneError/ioFailure(path:message:)`` when the file cannot be opened.
  public static func tryLock(_ path: String, create: Bool = true) throws -> FileLock? {
    let flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0)
    let descriptor = open(path, flags, 0o600)
    guard descriptor >= 0 else {
      if errno == ENOENT && !create { return nil }
      throw VlatuneError.ioFailure(path: path, message: String(cString: strerror(errno)))
    }
    if flock(descriptor, LOCK_EX | LOCK_NB) == 0 {
      return FileLock(descriptor: descriptor, path: path)
    }
    close(descriptor)
    return nil
  }

  /// Whether some process holds the lock on `path` right now (a missing file counts as not held).
  public static func isHeld(_ path: String) -> Bool {
    guard let lock = try? tryLock(path, create: false) else {
      return FileIO.kind(path) == .regular
    }
    _ = lock
    return false
  }
}
