import Foundation
import Testing
import VlatuneTestSupport

/// A full disk, a damaged or foreign database and a write lock held by another program are said
/// plainly, with their exit codes, and change nothing (issue #23, item 3 and 5).
@Suite(.enabled(if: TestPaths.hasPython), .serialized)
struct HostileStateCLITests {
  static func sha256(_ path: String) throws -> String {
    let result = try ProcessRunner.run("/usr/bin/sha256sum", [path])
    return String(result.standardOutput.prefix(64))
  }

  static func auditLines(_ home: URL) throws -> [[String: Any]] {
    let text = (try? String(contentsOf: home.appendingPathComponent("audit.jsonl"), encoding: .utf8)) ?? ""
    return try text.split(separator: "\n").map {
      try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
    }
  }

  @Test(.enabled(if: SmallFileSystem.canMount))
  func prepareOnAFullDiskSaysHowMuchIsNeededAndRegistersNothing() throws {
    let scratch = TemporaryDirectory("vlatune-fulldisk")
    let source = try SampleData.copy(
      into: scratch.url, name: "big", episodes: 12, steps: 30, extra: ["--image-size", "128", "--texture", "0.6"])
    let disk = try SmallFileSystem(bytes: 2 << 20)
    let vlatune = VlatuneRunner(home: disk.url.appendingPathComponent("home"))
    let result = try vlatune.run(["dataset", "prepare", source.path, "--name", "big"])
    #expect(result.status == 74, "\(result.standardError)")
    #expect(result.standardError.contains("no space left on the file system holding"), "\(result.standardError)")
    #expect(result.standardError.contains("the package needs about"))
    #expect(result.standardError.contains("nothing was registered"))
    #expect(result.standardError.contains("VLATUNE_HOME"))
    let list = try vlatune.run(["dataset", "list", "--json"])
    #expect(list.status == 0, "\(list.standardError)")
    #expect((try list.json()["datasets"] as? [Any])?.isEmpty == true)
    for folder in ["tmp", "datasets"] {
      #expect(
        try FileManager.default.contentsOfDirectory(atPath: vlatune.home.appendingPathComponent(folder).path).isEmpty)
    }
  }

  /// With one page left, the job directory fits and the database's write-ahead log does not:
  /// the start is 74 and takes its directory with it; with the space back, the next start works.
  @Test(.enabled(if: SmallFileSystem.canMount))
  func jobStartOnAFullDiskLeavesNoJobDirectory() throws {
    let scratch = TemporaryDirectory("vlatune-fulldisk")
    let disk = try SmallFileSystem(bytes: 8 << 20)
    var vlatune = VlatuneRunner(home: disk.url.appendingPathComponent("home"))
    vlatune.environment["VLATUNE_TRAINER"] = JobTestbed.trainer("ok", steps: 2, stepSeconds: 0)
    let source = try SampleData.copy(into: scratch.url)
    #expect(try vlatune.run(["dataset", "prepare", source.path, "--name", "sample", "--quiet"]).status == 0)
    let filler = try disk.fill(leaving: 4096)
    let start = ["job", "start", "--base-model", "tiny-vla", "--dataset", "sample", "--max-steps", "2", "--quiet"]
    let refused = try vlatune.run(start)
    #expect(refused.status == 74, "\(refused.standardError)")
    #expect(refused.standardError.contains("no space left on the file system holding"), "\(refused.standardError)")
    let jobs = vlatune.home.appendingPathComponent("jobs").path
    #expect(try FileManager.default.contentsOfDirectory(atPath: jobs).isEmpty)
    #expect((try vlatune.run(["job", "list", "--json"]).json()["jobs"] as? [Any])?.isEmpty == true)

    try FileManager.default.removeItem(at: filler)
    let started = try vlatune.run(start)
    #expect(started.status == 0, "\(started.standardError)")
    let id = started.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(try FileManager.default.contentsOfDirectory(atPath: jobs) == [id])
    // The start is settled by whichever commits first, the launcher or the job's watcher; the
    // file's line follows that commit.
    try waitUntil("the start's audit line") {
      try Self.auditLines(vlatune.home).contains { $0["outcome"] as? String == "started" }
    }
    let allowed = try Self.auditLines(vlatune.home).filter { $0["decision"] as? String == "allowed" }
    #expect(allowed.compactMap { $0["reference"] as? String }.filter { $0.hasPrefix("job_") } == [id])
    #expect(allowed.last?["outcome"] as? String == "started")
  }

  @Test func aDatabaseWithADamagedHeaderIsStateDamagedAndLeftAsItWas() throws {
    let bed = try JobTestbed()
    let database = bed.vlatune.home.appendingPathComponent("vlatune.db").path
    _ = try bed.vlatune.run(["job", "list"])
    let handle = try #require(FileHandle(forUpdatingAtPath: database))
    try handle.write(contentsOf: Data(repeating: 0x42, count: 100))
    try handle.close()
    let before = try Self.sha256(database)

    let list = try bed.vlatune.run(["dataset", "list", "--json"])
    #expect(list.status == 65, "\(list.standardError)")
    let error = try #require(try list.json()["error"] as? [String: Any])
    #expect(error["code"] as? String == "state_damaged")
    let message = try #require(error["message"] as? String)
    #expect(message.contains(database))
    #expect(message.contains("not an SQLite database"))
    #expect(message.contains("nothing was changed"))
    #expect(message.contains("vlatune doctor --check-state"))
    let start = try bed.run(["job", "start", "--base-model", "tiny-vla", "--dataset", "sample"])
    #expect(start.status == 65, "\(start.standardError)")
    #expect(start.standardError.contains("is damaged"))

    let doctor = try bed.vlatune.run(["doctor", "--check-state"])
    #expect(doctor.status == 69)
    #expect(
      doctor.standardOutput.contains("FAIL database integrity: \(database) is damaged"), "\(doctor.standardOutput)")
    #expect(doctor.standardOutput.contains("Nothing was changed"))
    #expect(doctor.standardOutput.contains("mv \(database) \(database)-wal \(database)-shm"))
    #expect(doctor.standardOutput.contains(".recover | sqlite3 \(database)"))
    #expect(doctor.standardOutput.contains("FAIL database:"))
    #expect(try Self.sha256(database) == before)
  }

  @Test func aDamagedPageIsFoundByTheFullIntegrityCheck() throws {
    let bed = try JobTestbed()
    let healthy = try bed.vlatune.run(["doctor", "--check-state"])
    #expect(healthy.standardOutput.contains("ok   database integrity: integrity_check ok"), "\(healthy.standardOutput)")
    #expect(healthy.standardOutput.contains("1 datasets, 0 jobs"))
    let database = bed.vlatune.home.appendingPathComponent("vlatune.db").path
    _ = try bed.vlatune.run(["job", "list"])
    let handle = try #require(FileHandle(forUpdatingAtPath: database))
    try handle.seek(toOffset: 2 * 4096)
    try handle.write(contentsOf: Data(repeating: 0xA5, count: 4096))
    try handle.close()
    let doctor = try bed.vlatune.run(["doctor", "--check-state", "--json"])
    #expect(doctor.status == 69)
    let checks = try #require(try doctor.json()["checks"] as? [[String: Any]])
    let integrity = try #require(checks.first { $0["name"] as? String == "database integrity" })
    #expect(integrity["ok"] as? Bool == false)
    let detail = try #require(integrity["detail"] as? String)
    #expect(detail.contains("is damaged"))
    #expect(detail.contains("Recover:"))
  }

  @Test func anotherProgramsDatabaseIsRefusedAndNotMigrated() throws {
    let scratch = TemporaryDirectory("vlatune-foreign")
    let home = scratch.appending("home")
    try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
    let database = home.appendingPathComponent("vlatune.db").path
    let make =
      "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('CREATE TABLE notes (body TEXT)'); c.commit()"
    #expect(try ProcessRunner.run(TestPaths.python!, ["-c", make, database]).status == 0)
    let result = try VlatuneRunner(home: home).run(["job", "list"])
    #expect(result.status == 65, "\(result.standardError)")
    #expect(
      result.standardError.contains("not a vlatune database: it holds the tables notes"), "\(result.standardError)")
    let tables =
      "import sqlite3, sys; print(','.join(r[0] for r in sqlite3.connect(sys.argv[1]).execute(\"SELECT name FROM sqlite_master WHERE type='table'\")))"
    let after = try ProcessRunner.run(TestPaths.python!, ["-c", tables, database])
    #expect(after.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "notes")
  }

  /// A write transaction held by another program: on a terminal the waiting command says after
  /// 1 s what it waits for; the final error (69) names the holder's pid; nothing changed.
  @Test func aHeldWriteLockIsNamedWithItsPid() throws {
    let bed = try JobTestbed()
    let marker = bed.directory.appending("locked").path
    let release = bed.directory.appending("release").path
    let script = """
      import os, sqlite3, sys, time
      c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
      c.execute("BEGIN IMMEDIATE")
      open(sys.argv[2], "w").close()
      while not os.path.exists(sys.argv[3]):
          time.sleep(0.05)
      c.execute("COMMIT")
      """
    let locker = try ProcessRunner.start(
      TestPaths.python!, ["-c", script, bed.vlatune.home.appendingPathComponent("vlatune.db").path, marker, release])
    try waitUntil("the lock is held", timeout: 30) { FileManager.default.fileExists(atPath: marker) }

    let command = "\(TestPaths.binary.path) dataset rm sample"
    let onTerminal = try ProcessRunner.run(
      "/usr/bin/script", ["-q", "-e", "-c", command, "/dev/null"], environment: bed.vlatune.fullEnvironment)
    #expect(onTerminal.status == 69, "\(onTerminal.standardOutput)")
    #expect(onTerminal.standardOutput.contains("waiting for the database"), "\(onTerminal.standardOutput)")
    #expect(onTerminal.standardOutput.contains("pid \(locker.pid)"))
    #expect(onTerminal.standardOutput.contains("holds its write lock"))

    let plain = try bed.vlatune.run(["dataset", "rm", "sample", "--json"])
    #expect(plain.status == 69)
    let message = try #require((try plain.json()["error"] as? [String: Any])?["message"] as? String)
    #expect(message.contains("stayed locked by another process"))
    #expect(message.contains("pid \(locker.pid) (python"), "\(message)")
    #expect(!plain.standardError.contains("waiting for the database"))

    #expect(FileManager.default.createFile(atPath: release, contents: nil))
    #expect(try locker.wait(timeout: 30).status == 0)
    let list = try bed.vlatune.run(["dataset", "list", "--json"])
    #expect((try list.json()["datasets"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["sample"])
  }

  /// A trainer that cannot be started refunds the admission, and the audit line says so.
  @Test func aRefundedStartIsAuditedAsRefunded() throws {
    let bed = try JobTestbed()
    let failed = try bed.run(
      ["job", "start", "--base-model", "tiny-vla", "--dataset", "sample", "--quiet"],
      trainer: bed.directory.appending("no-such-trainer").path)
    #expect(failed.status == 69, "\(failed.standardError)")
    let started = try bed.start(trainer: JobTestbed.trainer("ok", steps: 1, stepSeconds: 0))
    let allowedStarts = {
      try Self.auditLines(bed.vlatune.home).filter {
        $0["decision"] as? String == "allowed" && $0["tool"] as? String == "start_finetune_job"
      }
    }
    // A start's line is written when it is settled, by the launcher or the watcher.
    try waitUntil("both starts' audit lines") { try allowedStarts().count >= 2 }
    let allowed = try allowedStarts()
    #expect(allowed.count == 2, "\(allowed)")
    #expect(allowed.first?["outcome"] as? String == "refunded")
    #expect(allowed.last?["reference"] as? String == started)
    #expect(allowed.last?["outcome"] as? String == "started")
  }
}
