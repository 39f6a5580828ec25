import GRDB
import VlatuneSupport

/// An exact sliding-window limiter persisted in SQLite: never more than `max` admissions in any
/// `window` seconds for a scope (tool, actor, rule). Every admission is a timestamp row; a
/// decision counts the rows inside the window, in the caller's `BEGIN IMMEDIATE` transaction, so
/// it holds across processes.
///
/// Time only moves forward: decisions use `max(now, newest recorded)`, so a clock jumping
/// backwards cannot free capacity.
package struct SlidingWindowLimiter {
  let scope: String
  let limit: Policy.RateLimit

  var windowMilliseconds: Int64 { Int64((limit.window * 1000).rounded()) }

  /// The outcome of a check.
  struct Decision: Equatable {
    /// Whether one more admission fits.
    var allowed: Bool
    /// Seconds until it would fit, when it does not.
    var retryAfter: Double?
    /// The time the admission is recorded at (`max(now, newest)`).
    var effectiveNow: Int64
  }

  /// Checks whether one more admission fits at `now` (milliseconds since 1970).
  func check(_ database: Database, now: Int64) throws -> Decision {
    let newest =
      try Int64.fetchOne(
        database, sql: "SELECT MAX(at_ms) FROM rate_events WHERE scope = ?", arguments: [scope]) ?? now
    let effective = max(now, newest)
    let floor = effective - windowMilliseconds
    let count =
      try Int.fetchOne(
        database, sql: "SELECT COUNT(*) FROM rate_events WHERE scope = ? AND at_ms > ?",
        arguments: [scope, floor]) ?? 0
    guard count >= limit.max else {
      return Decision(allowed: true, retryAfter: nil, effectiveNow: effective)
    }
    // The admission that must leave the window before one more fits.
    let blocking =
      try Int64.fetchOne(
        database,
        sql: "SELECT at_ms FROM rate_events WHERE scope = ? AND at_ms > ? ORDER BY at_ms LIMIT 1 OFFSET ?",
        arguments: [scope, floor, count - limit.max]) ?? effective
    let retry = blocking + windowMilliseconds - now
    return Decision(allowed: false, retryAfter: Double(max(retry, 0)) / 1000, effectiveNow: effective)
  }

  /// Records an admission and prunes rows that left the window.
  func record(_ database: Database, at time: Int64, reference: String) throws {
    try database.execute(
      sql: "DELETE FROM rate_events WHERE scope = ? AND at_ms <= ?",
      arguments: [scope, time - windowMilliseconds])
    try database.execute(
      sql: "INSERT INTO rate_events (scope, at_ms, ref) VALUES (?, ?, ?)",
      arguments: [scope, time, reference])
  }
}
