import Foundation
import Glibc
import VlatuneSupport

/// Which processes hold a write lock on the database, read from Linux's `/proc/locks` (no `lsof`).
///
/// In WAL mode a writer holds a POSIX write lock on one byte of the `-shm` file (and, in
/// rollback mode or with `locking_mode = EXCLUSIVE`, on the database file itself); each line of
/// `/proc/locks` names the lock's owner pid, device and inode.
enum LockHolders {
  /// `pid N (command)` for every other process holding a write lock on `database` or its `-shm`;
  /// empty where `/proc/locks` is unreadable or names nobody.
  static func describe(database: String) -> [String] {
    guard let table = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) else { return [] }
    return pids(in: table, files: [database, database + "-shm"].compactMap(fileIdentity))
      .map { pid in
        let command = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?
          .trimmingCharacters(in: .whitespacesAndNewlines)
        return "pid \(pid)" + (command.map { " (\($0))" } ?? "")
      }
  }

  /// The `major:minor:inode` form `/proc/locks` uses for a file (hexadecimal device numbers).
  static func fileIdentity(_ path: String) -> String? {
    var information = stat()
    guard stat(path, &information) == 0 else { return nil }
    let device = UInt64(information.st_dev)
    // glibc's gnu_dev_major/minor layout.
    let major = ((device >> 32) & 0xFFFF_F000) | ((device >> 8) & 0x0000_0FFF)
    let minor = ((device >> 12) & 0xFFFF_FF00) | (device & 0x0000_00FF)
    return String(format: "%02x:%02x:%llu", major, minor, UInt64(information.st_ino))
  }

  /// The owners, other than this process, of the write locks in `table` on `files`, in order.
  static func pids(in table: String, files: [String], excluding me: Int32 = getpid()) -> [Int32] {
    var found: [Int32] = []
    for line in table.split(separator: "\n") {
      // "1: POSIX  ADVISORY  WRITE 5946 fe:00:16220321 120 120" (a blocked waiter has "->").
      let fields = line.split(separator: " ", omittingEmptySubsequences: true)
      guard fields.count >= 6, fields[1] != "->", fields[3] == "WRITE", let pid = Int32(fields[4]),
        pid > 0, pid != me, files.contains(String(fields[5])), !found.contains(pid)
      else { continue }
      found.append(pid)
    }
    return found
  }
}
