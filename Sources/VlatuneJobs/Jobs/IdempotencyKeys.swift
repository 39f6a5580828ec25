import GRDB
import VlatuneSupport

/// The `idempotency_keys` table: a start's key, per actor, remembers the request it came with
/// and the job it made, for `limits.idempotency_ttl_hours`.
enum IdempotencyKeys {
  /// The request digest and job of `actor`'s `key`, after forgetting keys created at or before
  /// `expiringBefore` (ms); `nil` when the key is new.
  static func lookup(_ database: Database, actor: String, key: String, expiringBefore: Int64) throws
    -> (requestDigest: String, job: String)?
  {
    try database.execute(sql: "DELETE FROM idempotency_keys WHERE created_at_ms <= ?", arguments: [expiringBefore])
    guard
      let row = try Row.fetchOne(
        database, sql: "SELECT request_sha256, job_id FROM idempotency_keys WHERE actor = ? AND key = ?",
        arguments: [actor, key])
    else { return nil }
    return (row["request_sha256"], row["job_id"])
  }

  /// What `actor`'s `key` says of a request (`job start`, `job eval`): the job to return when
  /// the same request came with it before, a conflict (64) when another did, `nil` when the key
  /// is new (or expired after `ttlHours`).
  static func check(
    _ database: Database, actor: String, key: String, requestDigest: String, ttlHours: Double, now: Int64
  ) throws -> Result<String, VlatuneError>? {
    guard
      let (digest, job) = try lookup(
        database, actor: actor, key: key, expiringBefore: now - Int64(ttlHours * 3_600_000))
    else { return nil }
    if digest == requestDigest { return .success(job) }
    return .failure(
      .idempotencyConflict(
        message: "idempotency_key '\(key)' was used for a different request (job \(job)); use a new key for a "
          + "new request, or repeat the original request exactly"))
  }

  /// Forgets the key that made `job` (its start was refunded: a retry with the key starts anew).
  static func forget(_ database: Database, job: String) throws {
    try database.execute(sql: "DELETE FROM idempotency_keys WHERE job_id = ?", arguments: [job])
  }

  /// Remembers that `actor`'s `key` made `job` from the request of `requestDigest`.
  static func record(
    _ database: Database, actor: String, key: String, requestDigest: String, job: String, at milliseconds: Int64
  ) throws {
    try database.execute(
      sql: "INSERT INTO idempotency_keys (actor, key, request_sha256, job_id, created_at_ms) VALUES (?, ?, ?, ?, ?)",
      arguments: [actor, key, requestDigest, job, milliseconds])
  }
}
