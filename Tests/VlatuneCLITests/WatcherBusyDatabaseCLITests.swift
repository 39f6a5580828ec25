import Foundation
import Testing
import VlatuneTestSupport

/// Another process holding the database's write lock past the 10 s busy timeout never kills a
/// running trainer: the watcher waits it out and records what it could not write then.
@Suite(.enabled(if: TestPaths.hasPython), .serialized)
struct WatcherBusyDatabaseCLITests {
  @Test func aLockHeldLongerThanTheBusyTimeoutDoesNotStopTraining() throws {
    let bed = try JobTestbed()
    // 16 steps of 0.5 s: the trainer runs into the lock and ends while it is still held.
    let id = try bed.start(trainer: JobTestbed.trainer("ok", steps: 16, stepSeconds: 0.5))
    let running = try bed.waitForState(id, ["running"])
    let jobDir = try #require(running["job_dir"] as? String)
    let marker = bed.directory.appending("locked").path
    let script = """
      import sqlite3, sys, time
      c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
      c.execute("BEGIN IMMEDIATE")
      open(sys.argv[2], "w").close()
      time.sleep(13)
      c.execute("COMMIT")
      """
    let locker = try ProcessRunner.start(
      TestPaths.python!, ["-c", script, bed.vlatune.home.appendingPathComponent("vlatune.db").path, marker])
    try waitUntil("the lock is held", timeout: 30) { FileManager.default.fileExists(atPath: marker) }
    let held = try locker.wait(timeout: 60)
    #expect(held.status == 0, "\(held.standardError)")

    let done = try bed.waitForState(id, ["succeeded", "failed", "lost"], timeout: 90)
    #expect(done["state"] as? String == "succeeded", "\(done)")
    let progress = try #require(done["progress"] as? [String: Any])
    #expect(progress["step"] as? Int == 16)
    // Checkpoints written while the database was locked (every 5 steps, and the last step's)
    // were recorded after.
    #expect((done["checkpoints"] as? [[String: Any]])?.compactMap { $0["step"] as? Int } == [5, 10, 15, 16])
    let log = try String(contentsOfFile: jobDir + "/watcher.log", encoding: .utf8)
    #expect(log.contains("stayed locked by another process"))
    #expect(log.contains("the trainer keeps running"))
    #expect(log.contains("the database is writable again"))
  }
}
