import Foundation
import GRDB
import VlatuneStore
import VlatuneSupport

/// One admission decision: who asked which tool, what was decided and why, a fingerprint of the
/// arguments (never the raw values) and the policy in force.
public struct AuditEntry: Sendable, Equatable, Codable {
  /// RFC 3339 time.
  public var at: String
  /// `cli:$USER`, `mcp:<client>`, …
  public var actor: String
  /// `start_finetune_job`, `prepare_dataset`.
  public var tool: String
  /// `allowed`, `refused` or `replayed`.
  public var decision: String
  /// The error code of a refusal.
  public var code: String?
  /// SHA-256 of the canonical arguments.
  public var argsSha256: String
  /// The policy's digest (`builtin` or `sha256:…`).
  public var policy: String
  /// The job or dataset concerned.
  public var reference: String?
  /// The refusal's message.
  public var message: String?
  /// What became of an allowed `start_finetune_job`: `started` (its watcher or Slurm took the
  /// job), `refunded` (it could not be started and its admission was given back) or
  /// `interrupted` (the start was killed before it handed the job on; the job is `lost`).
  public var outcome: String? = nil

  enum CodingKeys: String, CodingKey {
    case at, actor, tool, decision, code, policy, reference, message, outcome
    case argsSha256 = "args_sha256"
  }
}

extension AuditEntry {
  /// The entry of one decision: `allowed`, or with a refusal `refused` and its code and
  /// message (`decision` overrides: `replayed`, `dry_run`).
  package init(
    tool: String, actor: String, argsSha256: String, policy: Policy, reference: String?, at date: Date,
    refusal: VlatuneError?, decision: String? = nil
  ) {
    self.init(
      at: Timestamp.format(date), actor: actor, tool: tool,
      decision: decision ?? (refusal == nil ? "allowed" : "refused"), code: refusal?.code,
      argsSha256: argsSha256, policy: policy.digest, reference: reference, message: refusal?.message)
  }
}

/// The audit log: rows in `audit_log` (in the decision's transaction) and lines appended to
/// `$VLATUNE_HOME/audit.jsonl`.
///
/// An allowed job start is a row with outcome `pending` until the job is handed on; whichever
/// process settles it (``settle(_:jobID:outcome:home:)``: the launcher, the watcher, or liveness
/// finding the start killed) appends its one line to the file, so the file never lists a start
/// that left no job, and lists each job once.
package enum AuditLog {
  /// The outcome of an allowed start that has not been handed on yet (rows only).
  package static let pending = "pending"

  /// Records an entry in the decision's transaction and appends it to the file once that
  /// commits (an entry whose outcome is ``pending`` is appended when it is settled).
  package static func record(_ database: Database, _ entry: AuditEntry, home: VlatuneHome) throws {
    try insert(database, entry)
    if entry.outcome != pending { database.afterNextTransaction { _ in appendFile(entry, home: home) } }
  }

  /// Moves job `jobID`'s allowed start from `pending` to `outcome` and, once the transaction
  /// commits, appends its line to the file; does nothing when another process settled it first.
  package static func settle(_ database: Database, jobID: String, outcome: String, home: VlatuneHome) throws {
    try database.execute(
      sql: "UPDATE audit_log SET outcome = ? WHERE job_id = ? AND decision = 'allowed' AND outcome = ?",
      arguments: [outcome, jobID, pending])
    guard database.changesCount > 0,
      let row = try Row.fetchOne(
        database,
        sql: """
          SELECT at, actor, tool, decision, code, args_sha256, policy, job_id, message FROM audit_log
          WHERE job_id = ? AND decision = 'allowed' AND outcome = ? ORDER BY id DESC LIMIT 1
          """, arguments: [jobID, outcome])
    else { return }
    let entry = AuditEntry(
      at: row["at"], actor: row["actor"], tool: row["tool"], decision: row["decision"], code: row["code"],
      argsSha256: row["args_sha256"], policy: row["policy"], reference: row["job_id"], message: row["message"],
      outcome: outcome)
    database.afterNextTransaction { _ in appendFile(entry, home: home) }
  }

  /// ``settle(_:jobID:outcome:home:)`` in its own transaction (best effort: the job's state is
  /// what matters; a settle that fails leaves the row `pending` for liveness to settle).
  package static func settle(jobID: String, outcome: String, store: Store, home: VlatuneHome) {
    _ = try? store.write { try settle($0, jobID: jobID, outcome: outcome, home: home) }
  }

  /// Records an entry outside any decision (best effort: a failure to audit never hides what
  /// is being reported).
  package static func recordAlone(_ entry: AuditEntry, store: Store, home: VlatuneHome) {
    _ = try? store.write { try insert($0, entry) }
    appendFile(entry, home: home)
  }

  static func insert(_ database: Database, _ entry: AuditEntry) throws {
    try database.execute(
      sql: """
        INSERT INTO audit_log (at, actor, tool, decision, code, args_sha256, policy, job_id, message, outcome)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
      arguments: [
        entry.at, entry.actor, entry.tool, entry.decision, entry.code, entry.argsSha256,
        entry.policy, entry.reference, entry.message, entry.outcome,
      ])
  }

  static func appendFile(_ entry: AuditEntry, home: VlatuneHome) {
    guard let line = try? JSONOutput.string(entry, pretty: false) else { return }
    let path = home.root.appendingPathComponent("audit.jsonl").path
    let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { return }
    defer { close(descriptor) }
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
  }

  /// SHA-256 of a canonical (sorted-key, compact) JSON encoding of arguments.
  package static func fingerprint(_ arguments: [String: JSONValue]) -> String {
    let text = (try? JSONOutput.string(AnyJSON(.object(arguments)), pretty: false)) ?? ""
    return SHA256Hasher.hex(Array(text.utf8))
  }
}
