import Foundation
import Testing
import VlatuneTestSupport

/// Damage in the state directory is said plainly: a broken catalog row, a damaged page, left-over
/// directories, and `dataset rm` racing `job start`.
@Suite(.enabled(if: TestPaths.hasPython), .serialized)
struct StateDamageCLITests {
  static func sql(_ database: URL, _ statement: String) throws {
    let script = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()"
    let result = try ProcessRunner.run(TestPaths.python!, ["-c", script, database.path, statement])
    #expect(result.status == 0, "\(result.standardError)")
  }

  @Test func oneBrokenCatalogRowDoesNotBreakTheList() throws {
    let bed = try JobTestbed()
    let source = try SampleData.copy(into: bed.directory.url, name: "second")
    #expect(try bed.vlatune.run(["dataset", "prepare", source.path, "--name", "second", "--quiet"]).status == 0)
    try Self.sql(
      bed.vlatune.home.appendingPathComponent("vlatune.db"),
      "UPDATE datasets SET document = '{broken' WHERE name = 'second'")
    let list = try bed.vlatune.run(["dataset", "list", "--json"])
    #expect(list.status == 0, "\(list.standardError)")
    let document = try list.json()
    #expect((document["datasets"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["sample"])
    let damaged = try #require(document["damaged"] as? [[String: Any]])
    #expect(damaged.first?["name"] as? String == "second")
    #expect((damaged.first?["problem"] as? String)?.contains("vlatune dataset rm") == true)
    #expect(list.standardError.contains("warning:"))
    let removed = try bed.vlatune.run(["dataset", "rm", "second", "--json"])
    #expect(removed.status == 0, "\(removed.standardError)")
    #expect(try removed.json()["removed"] as? Bool == true)
    #expect((try bed.vlatune.run(["dataset", "list", "--json"]).json()["damaged"] as? [Any])?.isEmpty == true)
  }

  @Test func doctorFindsDamagedPagesAndLeftOverDirectories() throws {
    let bed = try JobTestbed()
    let healthy = try bed.run(["doctor", "--json"])
    let names = ((try healthy.json()["checks"] as? [[String: Any]]) ?? []).filter { $0["ok"] as? Bool == true }
      .compactMap { $0["name"] as? String }
    #expect(
      Set(["database pages", "database writable", "dataset packages", "job directories"]).isSubset(of: Set(names)))

    let home = bed.vlatune.home
    try FileManager.default.createDirectory(
      at: home.appendingPathComponent("datasets/ds_orphan000"), withIntermediateDirectories: true)
    try FileManager.default.createDirectory(
      at: home.appendingPathComponent("jobs/job_orphan000"), withIntermediateDirectories: true)
    let orphans = try bed.run(["doctor"])
    #expect(orphans.status == 69)
    #expect(orphans.standardOutput.contains("FAIL dataset packages: not in the catalog: ds_orphan000"))
    #expect(orphans.standardOutput.contains("FAIL job directories: without a job row: job_orphan000"))

    // Overwrite a page in the middle of the file (not the header): the file still opens.
    let database = home.appendingPathComponent("vlatune.db").path
    _ = try bed.vlatune.run(["job", "list"])  // the -wal is checkpointed into the file on close
    let handle = try #require(FileHandle(forUpdatingAtPath: database))
    let size = try handle.seekToEnd()
    #expect(size >= 4 * 4096)
    try handle.seek(toOffset: 2 * 4096)
    try handle.write(contentsOf: Data(repeating: 0xA5, count: 4096))
    try handle.close()
    let damaged = try bed.run(["doctor"])
    #expect(damaged.status == 69)
    #expect(
      damaged.standardOutput.contains("FAIL database pages") || damaged.standardOutput.contains("FAIL state directory"),
      "\(damaged.standardOutput)")
    #expect(damaged.standardOutput.contains("damaged") || damaged.standardOutput.contains("malformed"))
  }

  /// Started together, `dataset rm` and `job start` never both succeed: either the job holds the
  /// package (rm refuses, 73) or the package is gone before the job is admitted (start, 66).
  @Test func removingADatasetRacingAStartNeverLeavesAJobWithoutItsPackage() throws {
    let bed = try JobTestbed()
    var runner = bed.vlatune
    runner.environment["VLATUNE_TRAINER"] = JobTestbed.trainer("ok", steps: 1, stepSeconds: 0)
    for trial in 0..<10 {
      let name = "race-\(trial)"
      let source = try SampleData.copy(into: bed.directory.url, name: name, episodes: 2, steps: 10)
      #expect(try bed.vlatune.run(["dataset", "prepare", source.path, "--name", name, "--quiet"]).status == 0)
      let start = try runner.start(["job", "start", "--base-model", "tiny-vla", "--dataset", name, "--quiet"])
      let remove = try runner.start(["dataset", "rm", name])
      let started = try start.wait(timeout: 120)
      let removed = try remove.wait(timeout: 120)
      #expect(!(started.status == 0 && removed.status == 0), "trial \(trial): both succeeded")
      #expect([0, 66].contains(started.status), "trial \(trial): \(started.standardError)")
      #expect([0, 73].contains(removed.status), "trial \(trial): \(removed.standardError)")
      if started.status == 0 {
        let id = started.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try bed.waitForState(id, ["succeeded", "failed"])["state"] as? String == "succeeded")
      }
    }
  }
}
