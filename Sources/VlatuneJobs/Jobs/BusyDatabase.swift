import Foundation
import VlatuneSupport

/// How a watcher lives with a database another process keeps locked: it never kills training
/// for it. A write that times out (``VlatuneError/databaseBusy(path:)``) is skipped and tried
/// again after a short, growing pause while the trainer runs on; what could not be written waits
/// (``EventIngestor`` keeps it) and is written once the lock is released. The outage is noted in
/// the watcher's log, once when it starts and once when it ends.
struct BusyDatabase {
  private var nextAttempt = Date.distantPast
  private var pause = 0.5
  private var since: Date?
  private var lastError: VlatuneError?
  private let log: (String) -> Void

  init(log: @escaping (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) {
    self.log = log
  }

  /// Runs `body` unless the database was busy a moment ago; `nil` when it is (still) busy.
  mutating func attempt<T>(_ body: () throws -> T) throws -> T? {
    let now = Date()
    guard now >= nextAttempt else { return nil }
    do {
      let value = try body()
      if let since {
        log("the database is writable again after \(Int(now.timeIntervalSince(since))) s; pending updates written")
        self.since = nil
        pause = 0.5
      }
      return value
    } catch let error as VlatuneError {
      guard case .databaseBusy = error else { throw error }
      if since == nil {
        since = now
        log("\(error.message) — the trainer keeps running; its progress is recorded once the lock is released")
      }
      lastError = error
      nextAttempt = Date().addingTimeInterval(pause)
      pause = min(pause * 2, 5)
      return nil
    }
  }

  /// Runs `body` until the database takes it, for up to `patience` seconds.
  mutating func untilDone<T>(patience: TimeInterval = 600, _ body: () throws -> T) throws -> T {
    let end = Date().addingTimeInterval(patience)
    while true {
      if let value = try attempt(body) { return value }
      if Date() >= end, let lastError { throw lastError }
      let wait = max(nextAttempt.timeIntervalSinceNow, 0.05)
      usleep(UInt32(min(wait, 5) * 1_000_000))
    }
  }
}
