import Foundation
import Glibc

/// Free space on a file system, for messages that say how much a full disk is short of.
public enum DiskSpace {
  /// Bytes an unprivileged process may still write on the file system holding `path` (the
  /// nearest existing ancestor is asked when `path` does not exist), or `nil` when unknown.
  public static func available(at path: String) -> Int64? {
    var candidate = path
    while true {
      var information = statvfs()
      if statvfs(candidate, &information) == 0 {
        return Int64(information.f_bavail) * Int64(information.f_frsize)
      }
      let parent = (candidate as NSString).deletingLastPathComponent
      guard parent != candidate, !parent.isEmpty else { return nil }
      candidate = parent
    }
  }

  /// Whether an I/O failure's message is the system's "No space left on device" (ENOSPC) or
  /// "Disk quota exceeded" (EDQUOT).
  public static func isFull(_ message: String) -> Bool {
    [ENOSPC, EDQUOT].contains { message.contains(String(cString: strerror($0))) }
  }

  /// "no space left on the file system holding PATH (F free; NEED); UNDONE: …", where `need`
  /// says what needs how much, when that is known.
  public static func shortfall(at path: String, need: String?, undone: String) -> String {
    let free = available(at: path).map { ByteSize.format($0) + " free" } ?? "free space unknown"
    return "no space left on the file system holding \(path) (\(free)\(need.map { "; " + $0 } ?? "")); "
      + "\(undone): free some space or set VLATUNE_HOME to a directory on a larger disk"
  }
}
