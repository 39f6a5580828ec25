import Foundation
import Glibc

/// A tmpfs of a fixed size mounted for one test (root only: CI's machines run tests as root), so
/// that a full disk is a real `ENOSPC` from the kernel rather than a simulated error.
public final class SmallFileSystem: @unchecked Sendable {
  // @unchecked: used by one test at a time; mounted in init, unmounted in deinit.
  /// The mount point.
  public let url: URL
  private let directory = TemporaryDirectory("vlatune-smallfs")

  /// Whether this process may mount a tmpfs (it is root and `mount` works here).
  public static let canMount: Bool = {
    guard getuid() == 0 else { return false }
    return (try? SmallFileSystem(bytes: 1 << 20)) != nil
  }()

  /// Mounts a tmpfs of `bytes` bytes.
  public init(bytes: Int) throws {
    url = directory.appending("mount")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    let result = try ProcessRunner.run(
      "/bin/mount", ["-t", "tmpfs", "-o", "size=\(bytes),mode=0700", "tmpfs", url.path])
    guard result.status == 0 else {
      throw SampleData.GeneratorError(message: "mount tmpfs: \(result.standardError)")
    }
  }

  deinit {
    _ = try? ProcessRunner.run("/bin/umount", ["-l", url.path])
  }

  /// Bytes free on it.
  public var available: Int64 {
    var information = statvfs()
    guard statvfs(url.path, &information) == 0 else { return 0 }
    return Int64(information.f_bavail) * Int64(information.f_frsize)
  }

  /// Fills it with `filler` until writing fails with ENOSPC, then gives back `leave` bytes (a
  /// multiple of the page size: tmpfs counts whole pages).
  public func fill(leaving leave: Int = 0) throws -> URL {
    let filler = url.appendingPathComponent("filler")
    let descriptor = open(filler.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard descriptor >= 0 else { throw SampleData.GeneratorError(message: "cannot create \(filler.path)") }
    defer { close(descriptor) }
    let chunk = [UInt8](repeating: 0x5A, count: 4096)
    var written = 0
    while true {
      let count = chunk.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
      if count <= 0 { break }
      written += count
    }
    guard errno == ENOSPC else { throw SampleData.GeneratorError(message: "filler stopped: \(errno)") }
    if leave > 0 { _ = ftruncate(descriptor, off_t(max(written - leave, 0))) }
    return filler
  }
}
