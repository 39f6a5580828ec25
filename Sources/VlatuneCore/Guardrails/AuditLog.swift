import Foundation
import GRDB

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

  enum CodingKeys: String, CodingKey {
    case at, actor, tool, decision, code, policy, reference, message
    case argsSha256 = "args_sha256"
  }
}

extension AuditEntry {
  /// The entry of one decision: `allowed`, or with a refusal `refused` and its code and
  /// message (`decision` overrides: `replayed`, `dry_run`).
  init(
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
enum AuditLog {
  /// Records an entry in the decision's transaction and appends it to the file.
  static func record(_ database: Database, _ entry: AuditEntry, home: VlatuneHome) throws {
    try insert(database, entry)
    appendFile(entry, home: home)
  }

  /// Records an entry outside any decision (best effort: a failure to audit never hides what
  /// is being reported).
  static func recordAlone(_ entry: AuditEntry, store: Store, home: VlatuneHome) {
    _ = try? store.write { try insert($0, entry) }
    appendFile(entry, home: home)
  }

  static func insert(_ database: Database, _ entry: AuditEntry) throws {
    try database.execute(
      sql: """
        INSERT INTO audit_log (at, actor, tool, decision, code, args_sha256, policy, job_id, message)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
      arguments: [
        entry.at, entry.actor, entry.tool, entry.decision, entry.code, entry.argsSha256,
        entry.policy, entry.reference, entry.message,
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
  static func fingerprint(_ arguments: [String: JSONValue]) -> String {
    let text = (try? JSONOutput.string(AnyJSON(.object(arguments)), pretty: false)) ?? ""
    return SHA256Hasher.hex(Array(text.utf8))
  }
}
