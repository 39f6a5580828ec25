import Foundation
import GRDB
import VlatuneSupport

/// `vlatune doctor --check-state`: SQLite's full `PRAGMA integrity_check` on the state database,
/// opened read-only and without migrating (so it works on a database no other command will open),
/// and, when it is damaged, the recovery to take with the exact paths.
public enum StateIntegrity {
  /// Checks the database of `home`; changes nothing.
  public static func check(_ home: VlatuneHome, now: Date = Date()) -> [StateCheck.Finding] {
    let path = home.databaseURL.path
    guard FileIO.kind(path) == .regular else {
      return [
        StateCheck.Finding(
          name: "database integrity", ok: true, detail: "\(path) does not exist yet (the next command creates it)")
      ]
    }
    var configuration = Configuration()
    configuration.readonly = true
    let problems: [String]
    var counts = ""
    do {
      let queue = try DatabaseQueue(path: path, configuration: configuration)
      problems = try queue.read { database -> [String] in
        let rows = try String.fetchAll(database, sql: "PRAGMA integrity_check(20)")
        if rows == ["ok"] {
          let tables = Set(try String.fetchAll(database, sql: "SELECT name FROM sqlite_master WHERE type = 'table'"))
          guard tables.contains("grdb_migrations") || tables.isEmpty else {
            return ["not a vlatune database: tables " + tables.sorted().prefix(5).joined(separator: ", ")]
          }
          if tables.contains("datasets") && tables.contains("jobs") {
            let datasets = try Int.fetchOne(database, sql: "SELECT COUNT(*) FROM datasets") ?? 0
            let jobs = try Int.fetchOne(database, sql: "SELECT COUNT(*) FROM jobs") ?? 0
            counts = "; \(datasets) datasets, \(jobs) jobs"
          }
          return []
        }
        return rows
      }
    } catch let error as DatabaseError {
      problems = [
        error.resultCode == .SQLITE_NOTADB
          ? "the file is not an SQLite database (its header is damaged or it is another kind of file)"
          : "SQLite cannot read it: \(error.message ?? "\(error)")"
      ]
    } catch {
      problems = ["\(error)"]
    }
    if problems.isEmpty {
      return [StateCheck.Finding(name: "database integrity", ok: true, detail: "integrity_check ok: \(path)\(counts)")]
    }
    return [
      StateCheck.Finding(
        name: "database integrity", ok: false,
        detail: "\(path) is damaged: \(problems.prefix(3).joined(separator: "; "))"
          + (problems.count > 3 ? " (\(problems.count) problems)" : "") + ". Nothing was changed. "
          + recovery(home, now: now))
    ]
  }

  /// The steps that recover a damaged database, with the paths to use.
  static func recovery(_ home: VlatuneHome, now: Date) -> String {
    let stamp = Timestamp.format(now).replacingOccurrences(of: ":", with: "").prefix(17)
    let aside = home.root.appendingPathComponent("damaged-\(stamp)").path
    let database = home.databaseURL.path
    return "Recover: stop every vlatune command and job first; 1) back it up: mkdir \(aside) && mv \(database) "
      + "\(database)-wal \(database)-shm \(aside)/; 2) export what SQLite can still read into a new database: "
      + "sqlite3 \(aside)/vlatune.db .recover | sqlite3 \(database) (the sqlite3 program: apt-get install "
      + "sqlite3), then run 'vlatune doctor --check-state' again; or, when nothing can be read, skip 2): the "
      + "next command starts an empty database, and packages under \(home.datasetsURL.path) stay on disk "
      + "(prepare their sources again to register them)"
  }
}
