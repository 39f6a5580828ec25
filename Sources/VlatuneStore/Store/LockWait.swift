import Foundation
import GRDB
import Synchronization
import VlatuneSupport

/// The busy handler of vlatune's database connection: while another process holds the write
/// lock it retries with SQLite's own back-off (1 ms growing to 100 ms) for up to `timeout`
/// seconds, and once a wait has lasted `announceAfter` seconds it says, once, what it waits for
/// (`announce` is given only when standard error is a terminal).
final class LockWait: Sendable {
  private struct Wait {
    var started = Date()
    var announced = false
  }

  private let path: String
  private let timeout: TimeInterval
  private let announceAfter: TimeInterval
  private let announce: (@Sendable (String) -> Void)?
  private let wait = Mutex(Wait())
  /// SQLite's default busy-handler delays, in milliseconds.
  private static let delays: [UInt32] = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100]

  init(
    path: String, timeout: TimeInterval, announceAfter: TimeInterval = 1,
    announce: (@Sendable (String) -> Void)?
  ) {
    self.path = path
    self.timeout = timeout
    self.announceAfter = announceAfter
    self.announce = announce
  }

  /// GRDB's busy callback: `true` to try again, `false` to give up with `SQLITE_BUSY`.
  var callback: Database.BusyCallback {
    { [self] tries in retry(tries) }
  }

  private func retry(_ tries: Int) -> Bool {
    let now = Date()
    let (elapsed, shouldAnnounce) = wait.withLock { wait -> (TimeInterval, Bool) in
      if tries == 0 { wait = Wait(started: now) }
      let elapsed = now.timeIntervalSince(wait.started)
      let due = !wait.announced && elapsed >= announceAfter && announce != nil
      if due { wait.announced = true }
      return (elapsed, due)
    }
    if elapsed >= timeout { return false }
    if shouldAnnounce, let announce {
      let holders = LockHolders.describe(database: path)
      announce(
        "waiting for the database \(path): "
          + (holders.isEmpty ? "another process" : holders.joined(separator: ", "))
          + " holds its write lock (giving up after \(Int(timeout)) s)")
    }
    let delay = Self.delays[min(tries, Self.delays.count - 1)]
    usleep(delay * 1000)
    return true
  }
}
