import Glibc
import VlatuneSupport

/// Refuses a file or directory another user could change, as ssh's `StrictModes` does: the state
/// directory holds the policy, the rate-limit counters and each job's `spec.json`, whose trainer
/// command the job's watcher runs, so a state directory, policy file or job directory that is
/// writable by group or others, or owned by another user (root excepted), is refused with 77
/// naming the path and the fix.
public enum SafePath {
  /// The refusal for `path`, or `nil` when it is safe or does not exist.
  ///
  /// - Parameter what: What the path is, for the message (`state directory`, `policy file`, …).
  public static func problem(_ path: String, what: String) -> VlatuneError? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    let me = geteuid()
    if info.st_uid != me && info.st_uid != 0 {
      return .policyDenied(
        message: "refusing the \(what) \(path): it is owned by uid \(info.st_uid), not by you (uid \(me)), "
          + "so another user could change what vlatune runs; use one of your own (set VLATUNE_HOME, "
          + "or --policy) or have it chowned to you")
    }
    let mode = info.st_mode & 0o7777
    if mode & 0o022 != 0 {
      let octal = String(mode, radix: 8)
      return .policyDenied(
        message: "refusing the \(what) \(path): it is writable by \(mode & 0o002 != 0 ? "others" : "its group") "
          + "(mode 0\(octal)), so another user could change what vlatune runs; run 'chmod go-w \(path)'")
    }
    return nil
  }

  /// Throws ``problem(_:what:)``'s refusal.
  public static func check(_ path: String, what: String) throws {
    if let problem = problem(path, what: what) { throw problem }
  }
}
