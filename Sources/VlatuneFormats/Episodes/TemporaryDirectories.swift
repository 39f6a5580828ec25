import Foundation
import Glibc
import VlatuneSupport

/// Temporary package directories under `$VLATUNE_HOME/tmp`, named `prepare-<pid>-<label>` so
/// that leftovers of a process killed with SIGKILL can be recognised and swept.
package enum TemporaryDirectories {
  /// Creates `prepare-<pid>-<label>` and returns its path.
  package static func create(in parent: String, label: String) -> String {
    let path = parent + "/prepare-\(getpid())-\(label)"
    mkdir(path, 0o700)
    return path
  }

  /// Removes directories whose owning process no longer exists.
  package static func sweep(_ parent: String) {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: parent) else { return }
    for name in names where name.hasPrefix("prepare-") {
      let parts = name.split(separator: "-")
      guard parts.count >= 3, let pid = Int32(parts[1]) else { continue }
      if kill(pid, 0) != 0 && errno == ESRCH { FileIO.removeTree(parent + "/" + name) }
    }
  }
}
