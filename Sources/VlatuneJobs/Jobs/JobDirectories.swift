import Foundation
import GRDB
import Glibc
import VlatuneStore
import VlatuneSupport

/// Job directories under `$VLATUNE_HOME/jobs`, made so that a `job start` killed at any moment
/// leaves nothing a later command cannot recognise and remove.
///
/// A new job's directory is built as `.new-<pid>-<id>` with its `watcher.lock` taken, and only
/// then renamed to `<id>` (the lock moves with the file): every `<id>` directory has a lock that
/// its starter (and then its watcher, which inherits it) holds until the job row exists. So a
/// `.new-` directory whose process is gone, or an `<id>` directory that has no row and whose lock
/// nobody holds, is debris of a start that never finished, and ``sweep(_:store:)`` removes it.
enum JobDirectories {
  static let stagingPrefix = ".new-"

  /// Creates `spec.jobDir` with its output and checkpoint folders (0700) and `spec.json`
  /// (0600), and returns its lock, held.
  static func create(_ spec: JobSpec) throws -> FileLock {
    let parent = (spec.jobDir as NSString).deletingLastPathComponent
    let staging = parent + "/" + stagingPrefix + "\(getpid())-" + spec.jobId
    do {
      // 0700 and 0600: the watcher refuses a job directory another user could change.
      for directory in [staging, staging + "/output", staging + "/checkpoints"] {
        try FileManager.default.createDirectory(
          atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
      }
    } catch {
      FileIO.removeTree(staging)
      throw failure(spec.jobDir, "\(error)")
    }
    do {
      guard let lock = try FileLock.tryLock(staging + "/watcher.lock") else {
        throw VlatuneError.internalError(message: "the lock of new job \(spec.jobId) is already held")
      }
      try FileIO.write(Array((try JSONOutput.string(spec) + "\n").utf8), to: staging + "/spec.json", mode: 0o600)
      guard rename(staging, spec.jobDir) == 0 else {
        throw failure(spec.jobDir, String(cString: strerror(errno)))
      }
      return lock
    } catch let error as VlatuneError {
      FileIO.removeTree(staging)
      if case .ioFailure(let path, let message) = error { throw failure(path, message) }
      throw error
    }
  }

  /// An I/O failure, with the free space when the disk is full.
  private static func failure(_ path: String, _ message: String) -> VlatuneError {
    guard DiskSpace.isFull(message) else { return .ioFailure(path: path, message: message) }
    return .ioFailure(
      path: path,
      message: DiskSpace.shortfall(
        at: (path as NSString).deletingLastPathComponent, need: nil, undone: "no job was started"))
  }

  /// Removes what killed starts left: `.new-<pid>-…` directories whose process is gone, and job
  /// directories without a row whose lock nobody holds. A directory without a lock file (not
  /// made by `job start`) is left for `vlatune doctor` to report.
  static func sweep(_ parent: String, store: Store) {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: parent) else { return }
    let known: Set<String>? = try? store.read { Set(try String.fetchAll($0, sql: "SELECT id FROM jobs")) }
    guard let known else { return }
    for name in names {
      let path = parent + "/" + name
      if name.hasPrefix(stagingPrefix) {
        let parts = name.dropFirst(stagingPrefix.count).split(separator: "-", maxSplits: 1)
        if let pid = parts.first.flatMap({ Int32($0) }), kill(pid, 0) != 0, errno == ESRCH {
          FileIO.removeTree(path)
        }
        continue
      }
      guard !known.contains(name), !name.hasPrefix("."),
        let lock = try? FileLock.tryLock(path + "/watcher.lock", create: false)
      else { continue }
      // Asked again with the lock held: a start that was writing its row has committed by now.
      let row: Bool?
      do {
        row = try store.read { try Bool.fetchOne($0, sql: "SELECT 1 FROM jobs WHERE id = ?", arguments: [name]) }
      } catch {
        continue
      }
      if row == nil { FileIO.removeTree(path) }
      withExtendedLifetime(lock) {}
    }
  }
}
