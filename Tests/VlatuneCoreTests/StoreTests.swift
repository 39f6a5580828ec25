import Foundation
import GRDB
import Testing
import VlatuneTestSupport

@testable import VlatuneArchive
@testable import VlatuneCore
@testable import VlatuneDatasets
@testable import VlatuneFormats
@testable import VlatuneGuardrails
@testable import VlatuneJobs
@testable import VlatuneStore
@testable import VlatuneSupport

@Suite struct StoreTests {
  @Test func fileDatabaseUsesWALAndAppliesMigrationsOnce() throws {
    let directory = TemporaryDirectory()
    let path = directory.appending("vlatune.db").path
    let first = try Store(path: path)
    #expect(try first.journalMode() == "wal")
    #expect(
      try first.appliedMigrations() == [
        "v1-create-datasets", "v2-create-jobs", "v3-guardrails", "v4-executor-native-id", "v5-jobs-created-id-index",
        "v6-audit-outcome", "v7-attempts-and-metrics", "v8-evaluation-jobs",
      ])
    let reopened = try Store(path: path)
    #expect(
      try reopened.appliedMigrations() == [
        "v1-create-datasets", "v2-create-jobs", "v3-guardrails", "v4-executor-native-id", "v5-jobs-created-id-index",
        "v6-audit-outcome", "v7-attempts-and-metrics", "v8-evaluation-jobs",
      ])
  }

  /// Opening and reading writes nothing: no schema change, no WAL frame, so a read-only command
  /// (`job status`, `dataset list`) pays no fsync.
  @Test func openingAnExistingDatabaseToReadWritesNothing() throws {
    let directory = TemporaryDirectory()
    let path = directory.appending("vlatune.db").path
    let schemaVersion = { (store: Store) in
      try store.read { try Int.fetchOne($0, sql: "PRAGMA schema_version") ?? -1 }
    }
    let before = try schemaVersion(try Store(path: path))
    let reopened = try Store(path: path)
    #expect(try schemaVersion(reopened) == before)
    #expect(try reopened.journalMode() == "wal")
    #expect(try reopened.synchronousLevel() == 1)
    let walSize = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int
    #expect(walSize == 0)
  }

  /// The -wal and -shm files stay after the last connection closes (no file created and deleted
  /// by every command), and a close after writes checkpoints and leaves the -wal empty.
  @Test func theWALFilesOutliveConnectionsAndAreEmptiedOnClose() throws {
    let directory = TemporaryDirectory()
    let path = directory.appending("vlatune.db").path
    let size = { (suffix: String) in
      try FileManager.default.attributesOfItem(atPath: path + suffix)[.size] as? Int
    }
    let inode = { (suffix: String) in
      try #require(FileManager.default.attributesOfItem(atPath: path + suffix)[.systemFileNumber] as? Int)
    }
    do {
      let store = try Store(path: path)
      try store.write { database in
        for index in 0..<200 {
          try database.execute(
            sql: """
              INSERT INTO audit_log (at, actor, tool, decision, args_sha256, policy, message)
              VALUES ('2026-12-02T00:00:00.000Z', 'test', 'fill', 'allow', '', '', ?)
              """,
            arguments: [String(repeating: "x", count: 500) + "\(index)"])
        }
      }
      let walWhileOpen = try size("-wal")
      withExtendedLifetime(store) {}
      #expect(walWhileOpen ?? 0 > 100_000)
    }
    #expect(try size("-wal") == 0)
    #expect(try size("-shm") ?? 0 > 0)
    let walInode = try inode("-wal")
    do {
      let reopened = try Store(path: path)
      #expect(try reopened.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM audit_log") } == 200)
    }
    #expect(try inode("-wal") == walInode)
    #expect(try size("-wal") == 0)
    #expect(try Store(path: path).read { try Int.fetchOne($0, sql: "PRAGMA journal_size_limit") } == 4_194_304)
  }

  @Test func olderDatabasesAreMigratedForwardKeepingTheirRows() throws {
    let directory = TemporaryDirectory()
    let path = directory.appending("vlatune.db").path
    do {
      let queue = try DatabaseQueue(path: path)
      try Migrations.migrator.migrate(queue, upTo: "v1-create-datasets")
      try queue.write { database in
        try DatasetRecord(
          id: "ds_old", name: "old", createdAt: "t", sourcePath: "/x", sourceFormat: "episodes",
          fingerprint: "f", episodes: 1, steps: 2, directory: "/d", document: "{}"
        ).insert(database)
      }
    }
    let store = try Store(path: path)
    #expect(
      try store.appliedMigrations() == [
        "v1-create-datasets", "v2-create-jobs", "v3-guardrails", "v4-executor-native-id", "v5-jobs-created-id-index",
        "v6-audit-outcome", "v7-attempts-and-metrics", "v8-evaluation-jobs",
      ])
    #expect(try store.read { try DatasetRecord.fetchOne($0, key: "ds_old") }?.name == "old")
    #expect(try store.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM jobs") } == 0)
  }

  /// `job list` (newest first, ties by id, limited) walks one index and sorts nothing, so its
  /// cost does not grow with jobs created in the same millisecond.
  @Test func jobListOrderIsServedByOneIndex() throws {
    let store = try Store.inMemory()
    let plan = try store.read { database in
      let statement = try JobStore.listRequest(state: nil, limit: 50).makePreparedRequest(database).statement
      return try Row.fetchAll(database, sql: "EXPLAIN QUERY PLAN " + statement.sql, arguments: statement.arguments)
        .map { $0["detail"] as String }
    }
    #expect(plan.contains { $0.contains("jobs_created_at_id") }, "\(plan)")
    #expect(!plan.contains { $0.contains("TEMP B-TREE") }, "\(plan)")
  }

  @Test func writeRollsBackWhenTheBodyThrows() throws {
    let store = try Store.inMemory()
    let record = DatasetRecord(
      id: "ds_1", name: "one", createdAt: "2026-01-01T00:00:00.000Z", sourcePath: "/x",
      sourceFormat: "episodes", fingerprint: "sha256:0", episodes: 1, steps: 2, directory: "/d",
      document: "{}")
    #expect(throws: VlatuneError.self) {
      try store.write { database in
        try record.insert(database)
        throw VlatuneError.internalError(message: "boom")
      }
    }
    #expect(try store.read { try DatasetRecord.fetchCount($0) } == 0)
    try store.write { try record.insert($0) }
    #expect(try store.read { try DatasetRecord.fetchCount($0) } == 1)
  }

  @Test func uniqueNamesAreEnforcedByTheSchema() throws {
    let store = try Store.inMemory()
    func record(_ id: String) -> DatasetRecord {
      DatasetRecord(
        id: id, name: "same", createdAt: "t", sourcePath: "/x", sourceFormat: "episodes",
        fingerprint: "f", episodes: 1, steps: 2, directory: "/d", document: "{}")
    }
    try store.write { try record("ds_a").insert($0) }
    #expect(throws: VlatuneError.self) { try store.write { try record("ds_b").insert($0) } }
  }

  /// A file that is not a database is refused with its path and what to do, and left as it was.
  @Test func notADatabaseIsAClearError() throws {
    let directory = TemporaryDirectory()
    let path = directory.appending("vlatune.db").path
    let bytes = Data(String(repeating: "not a database\n", count: 400).utf8)
    try bytes.write(to: URL(fileURLWithPath: path))
    do {
      _ = try Store(path: path)
      Issue.record("opened a file that is not a database")
    } catch let error as VlatuneError {
      #expect(error.code == "state_damaged" && error.exitStatus == 65)
      #expect(
        error.message.contains(path) && error.message.contains("not an SQLite database")
          && error.message.contains("vlatune doctor --check-state"),
        "\(error.message)")
    }
    #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == bytes)
  }

  @Test func homeResolutionFollowsTheContract() {
    #expect(
      VlatuneHome.resolve(environment: ["VLATUNE_HOME": "/a/b", "XDG_DATA_HOME": "/x"]).root.path
        == "/a/b")
    #expect(
      VlatuneHome.resolve(environment: ["XDG_DATA_HOME": "/x", "HOME": "/h"]).root.path
        == "/x/vlatune")
    #expect(
      VlatuneHome.resolve(environment: ["HOME": "/h"]).root.path == "/h/.local/share/vlatune")
  }

  @Test func homeIsCreatedPrivate() throws {
    let directory = TemporaryDirectory()
    let home = VlatuneHome(root: directory.appending("state"))
    try home.prepare()
    let attributes = try FileManager.default.attributesOfItem(atPath: home.root.path)
    #expect((attributes[.posixPermissions] as? Int) == 0o700)
    #expect(FileIO.kind(home.datasetsURL.path) == .directory)
  }
}
