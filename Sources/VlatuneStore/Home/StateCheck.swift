import Foundation
import GRDB
import Glibc
import VlatuneSupport

/// `vlatune doctor`'s look at the state directory: the database's pages, whether it can be
/// written, and packages or job directories that the catalog and the job table do not know
/// (or that they name and are gone).
public enum StateCheck {
  /// One finding.
  public struct Finding: Sendable, Equatable {
    /// What was checked.
    public var name: String
    /// Whether it is sound.
    public var ok: Bool
    /// What was found, and what to do.
    public var detail: String
  }

  /// Checks `context`'s state directory.
  public static func run(_ context: VlatuneContext) -> [Finding] {
    var findings: [Finding] = []
    let database = context.home.databaseURL.path
    do {
      let problems = try context.store.integrityProblems()
      findings.append(
        problems.isEmpty
          ? Finding(name: "database pages", ok: true, detail: "quick_check ok")
          : Finding(
            name: "database pages", ok: false,
            detail: "\(database) is damaged (\(problems.prefix(3).joined(separator: "; "))); nothing "
              + "was changed: copy it aside with its -wal and -shm, then recover with "
              + "'sqlite3 vlatune.db .recover | sqlite3 recovered.db'"))
    } catch {
      findings.append(Finding(name: "database pages", ok: false, detail: "\(error)"))
    }
    // An empty transaction writes nothing in WAL mode, so the files' permissions are asked too.
    let unwritable = [database, database + "-wal", database + "-shm", context.home.root.path].filter {
      FileManager.default.fileExists(atPath: $0) && access($0, W_OK) != 0
    }
    if !unwritable.isEmpty {
      findings.append(
        Finding(
          name: "database writable", ok: false,
          detail: "\(unwritable.joined(separator: ", ")) cannot be written by you (read-only); every command "
            + "that records anything will fail: restore write permission (chmod u+w) or move the state "
            + "directory (VLATUNE_HOME)"))
    } else if let problem = context.store.writeProblem() {
      findings.append(
        Finding(
          name: "database writable", ok: false,
          detail: "\(database) cannot be written (\(problem)); check its permissions and free space"))
    } else {
      findings.append(Finding(name: "database writable", ok: true, detail: database))
    }
    findings.append(contentsOf: orphans(context))
    return findings
  }

  /// Package and job directories without a row, and rows whose directory is gone.
  static func orphans(_ context: VlatuneContext) -> [Finding] {
    let rows = try? context.store.read { database -> (datasets: [String: String], jobs: Set<String>) in
      let datasets = try Row.fetchAll(database, sql: "SELECT id, directory FROM datasets")
      let jobs = try String.fetchAll(database, sql: "SELECT id FROM jobs")
      return (
        Dictionary(uniqueKeysWithValues: datasets.map { ($0["id"] as String, $0["directory"] as String) }),
        Set(jobs)
      )
    }
    guard let rows else { return [] }
    let manager = FileManager.default
    let packages = (try? manager.contentsOfDirectory(atPath: context.home.datasetsURL.path)) ?? []
    let orphanPackages = packages.filter { rows.datasets[$0] == nil }.sorted()
    let missingPackages = rows.datasets.filter { FileIO.kind($0.value) != .directory }.keys.sorted()
    let jobDirectories = (try? manager.contentsOfDirectory(atPath: context.home.jobsURL.path)) ?? []
    // `.new-…` folders are starts in progress (JobDirectories).
    let orphanJobs = jobDirectories.filter { !$0.hasPrefix(".") && !rows.jobs.contains($0) }.sorted()
    var findings: [Finding] = []
    func list(_ names: [String]) -> String {
      names.prefix(5).joined(separator: ", ") + (names.count > 5 ? " and \(names.count - 5) more" : "")
    }
    findings.append(
      orphanPackages.isEmpty && missingPackages.isEmpty
        ? Finding(name: "dataset packages", ok: true, detail: "\(rows.datasets.count) registered, all present")
        : Finding(
          name: "dataset packages", ok: false,
          detail: [
            orphanPackages.isEmpty
              ? nil
              : "not in the catalog: \(list(orphanPackages)) under \(context.home.datasetsURL.path) (left by an "
                + "interrupted prepare or remove; the next 'dataset prepare' removes them)",
            missingPackages.isEmpty
              ? nil : "registered but missing: \(list(missingPackages)) (run 'vlatune dataset rm' on them)",
          ].compactMap { $0 }.joined(separator: "; ")))
    findings.append(
      orphanJobs.isEmpty
        ? Finding(name: "job directories", ok: true, detail: "\(rows.jobs.count) jobs")
        : Finding(
          name: "job directories", ok: false,
          detail: "without a job row: \(list(orphanJobs)) under \(context.home.jobsURL.path) (left by an "
            + "interrupted start: the next 'job start' removes them; one without a watcher.lock was not made by "
            + "vlatune: delete it)"))
    return findings
  }
}
