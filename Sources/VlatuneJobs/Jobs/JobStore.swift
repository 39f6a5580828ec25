import Foundation
import GRDB
import VlatuneStore
import VlatuneSupport

/// Job rows, their lifecycle events and checkpoints. Every state change is a compare-and-set
/// (`UPDATE … WHERE state IN (…)`) in a `BEGIN IMMEDIATE` transaction, appended to `job_events`;
/// terminal states never change here (only ``JobResumer`` starts a new attempt of an ended job).
public struct JobStore: Sendable {
  let store: Store
  let now: @Sendable () -> Date

  /// - Parameters:
  ///   - store: The database.
  ///   - now: The clock (injected for tests).
  public init(store: Store, now: @escaping @Sendable () -> Date = Date.init) {
    self.store = store
    self.now = now
  }

  /// A column assignment for ``transition(_:from:to:actor:set:detail:)``.
  /// A column of the `jobs` table (``JobRecord``'s coding keys are its column names) and its
  /// new value.
  typealias Assignment = (column: JobRecord.CodingKeys, value: (any DatabaseValueConvertible)?)

  func insert(_ record: JobRecord, actor: String) throws {
    try store.write { database in
      try record.insert(database)
      try appendEvent(database, job: record.id, from: nil, to: record.state, actor: actor, detail: nil)
    }
  }

  /// Moves a job from one of `from` to `to` if (and only if) it is in one of `from` now.
  ///
  /// - Returns: `true` when this call made the change.
  @discardableResult
  func transition(
    _ id: String, from: [JobState], to: JobState, actor: String, set: [Assignment] = [],
    detail: String? = nil, attempt: Int? = nil
  ) throws -> Bool {
    try store.write { database in
      try transition(database, id, from: from, to: to, actor: actor, set: set, detail: detail, attempt: attempt)
    }
  }

  /// The same as ``transition(_:from:to:actor:set:detail:)`` inside a caller's transaction;
  /// with `attempt`, only while the job is still on that attempt (a check made from a row read
  /// earlier never changes a newer attempt).
  func transition(
    _ database: Database, _ id: String, from: [JobState], to: JobState, actor: String,
    set: [Assignment] = [], detail: String? = nil, attempt: Int? = nil
  ) throws -> Bool {
    let allowed = from.filter { !$0.isTerminal }
    guard !allowed.isEmpty else { return false }
    guard
      let current = try JobState.fetchOne(
        database, sql: "SELECT state FROM jobs WHERE id = ?", arguments: [id]),
      allowed.contains(current)
    else { return false }
    var assignments = set
    assignments.append((.state, to.rawValue))
    if to.isTerminal { assignments.append((.finishedAt, Timestamp.format(now()))) }
    if to.isTerminal { assignments.append((.queueReason, nil)) }
    let columns = assignments.map { "\($0.column.rawValue) = ?" }.joined(separator: ", ")
    var arguments = StatementArguments(assignments.map { $0.value })
    arguments += [id, current.rawValue]
    if let attempt { arguments += [attempt] }
    try database.execute(
      sql: "UPDATE jobs SET \(columns) WHERE id = ? AND state = ?" + (attempt == nil ? "" : " AND attempt = ?"),
      arguments: arguments)
    guard database.changesCount == 1 else { return false }
    try appendEvent(database, job: id, from: current, to: to, actor: actor, detail: detail)
    return true
  }

  /// Updates columns without changing the state (progress, pids); ignored for terminal jobs
  /// unless `evenIfTerminal`.
  func update(_ id: String, set: [Assignment], evenIfTerminal: Bool = false) throws {
    guard !set.isEmpty else { return }
    try store.write { database in
      try update(database, id, set: set, evenIfTerminal: evenIfTerminal)
    }
  }

  func update(_ database: Database, _ id: String, set: [Assignment], evenIfTerminal: Bool = false)
    throws
  {
    let columns = set.map { "\($0.column.rawValue) = ?" }.joined(separator: ", ")
    var arguments = StatementArguments(set.map { $0.value })
    arguments += [id]
    let guardClause =
      evenIfTerminal
      ? "" : " AND state IN (\(JobState.activeSQL))"
    try database.execute(sql: "UPDATE jobs SET \(columns) WHERE id = ?\(guardClause)", arguments: arguments)
  }

  private func appendEvent(
    _ database: Database, job: String, from: JobState?, to: JobState, actor: String,
    detail: String?
  ) throws {
    try Self.appendEvent(
      database, job: job, at: Timestamp.format(now()), from: from, to: to, actor: actor, detail: detail)
  }

  /// One row of the job's state history (`job_events`): the only place it is written.
  static func appendEvent(
    _ database: Database, job: String, at: String, from: JobState?, to: JobState, actor: String,
    detail: String? = nil
  ) throws {
    try database.execute(
      sql: """
        INSERT INTO job_events (job_id, at, from_state, to_state, actor, detail)
        VALUES (?, ?, ?, ?, ?, ?)
        """,
      arguments: [job, at, from?.rawValue, to.rawValue, actor, detail])
  }

  func record(_ id: String) throws -> JobRecord? {
    try store.read { try Self.record($0, id: id) }
  }

  /// The row of `id`. Plain SQL: the query interface's `fetchOne(key:)` first reads the table's
  /// schema to find its primary key (docs/performance.md, "Lookups by id in plain SQL").
  static func record(_ database: Database, id: String) throws -> JobRecord? {
    try JobRecord.fetchOne(database, sql: "SELECT * FROM jobs WHERE id = ?", arguments: [id])
  }

  func addCheckpoint(_ database: Database, job: String, step: Int, path: String) throws {
    try database.execute(
      sql: "INSERT OR REPLACE INTO job_checkpoints (job_id, step, path, created_at) VALUES (?, ?, ?, ?)",
      arguments: [job, step, path, Timestamp.format(now())])
  }

  func checkpoints(_ id: String) throws -> [JobDocument.Checkpoint] {
    try store.read { try Self.checkpoints($0, id) }
  }

  /// A job's checkpoints by step, inside a read.
  static func checkpoints(_ database: Database, _ id: String) throws -> [JobDocument.Checkpoint] {
    try Row.fetchAll(
      database, sql: "SELECT step, path FROM job_checkpoints WHERE job_id = ? ORDER BY step", arguments: [id]
    ).map { JobDocument.Checkpoint(step: $0["step"], path: $0["path"]) }
  }

  /// The document of a job.
  func document(_ id: String, replayed: Bool = false) throws -> JobDocument {
    guard let record = try record(id) else {
      throw VlatuneError.notFound(
        kind: "job", reference: id, hint: "run 'vlatune job list' to see the jobs")
    }
    return try document(record, replayed: replayed)
  }

  /// The document of a job row already read.
  func document(_ record: JobRecord, replayed: Bool = false) throws -> JobDocument {
    try store.read { database in try Self.document(database, record, replayed: replayed) }
  }

  /// The document of a job row, inside a read.
  static func document(_ database: Database, _ record: JobRecord, replayed: Bool = false) throws -> JobDocument {
    let checkpoints = try Self.checkpoints(database, record.id)
    let attempts =
      record.attempt <= 1
      ? []
      : try Row.fetchAll(
        database,
        sql: """
          SELECT attempt, created_at, actor, from_step, max_steps, checkpoint, previous_state
          FROM job_attempts WHERE job_id = ? ORDER BY attempt
          """, arguments: [record.id]
      ).map {
        JobDocument.Attempt(
          attempt: $0["attempt"], createdAt: $0["created_at"], actor: $0["actor"], fromStep: $0["from_step"],
          maxSteps: $0["max_steps"], checkpoint: $0["checkpoint"], previousState: $0["previous_state"])
      }
    // Only jobs that have evaluated pay for reading their history.
    let best =
      record.eval == nil
      ? nil
      : try MetricsHistory.load(database, jobID: record.id, kind: "eval").bestEval.map {
        JobDocument.BestEval(step: $0.step, metrics: $0.values)
      }
    return try JobDocument(
      record: record, checkpoints: checkpoints, attempts: attempts, bestEval: best, replayed: replayed,
      latestEvaluation: try latestEvaluation(database, of: record))
  }

  /// The latest succeeded evaluation job of a trained job's weights (an evaluation of its
  /// untrained start, `--adapter base`, is not one).
  static func latestEvaluation(_ database: Database, of record: JobRecord) throws -> EvaluationSummary? {
    guard record.kind == "train",
      let latest = try JobRecord.fetchOne(
        database,
        sql: """
          SELECT * FROM jobs WHERE source_job = ? AND kind = 'eval' AND state = 'succeeded'
            AND coalesce(json_extract(spec, '$.evaluation.checkpoint'), '') != 'base'
          ORDER BY finished_at DESC, id DESC LIMIT 1
          """, arguments: [record.id]),
      let spec = try? JSONOutput.decode(JobSpec.self, from: Data(latest.spec.utf8))
    else { return nil }
    return EvaluationSummary(record: latest, spec: spec)
  }

  /// The metrics history of a job (``MetricsHistory``).
  func metrics(_ id: String) throws -> MetricsHistory {
    try store.read { try MetricsHistory.load($0, jobID: id) }
  }

  /// The lifecycle events of a job, oldest first: `(at, from, to, actor, detail)`.
  public func events(_ id: String) throws -> [(at: String, from: String?, to: String, actor: String, detail: String?)] {
    try store.read { database in
      try Row.fetchAll(
        database,
        sql: "SELECT at, from_state, to_state, actor, detail FROM job_events WHERE job_id = ? ORDER BY id",
        arguments: [id]
      ).map { ($0["at"], $0["from_state"], $0["to_state"], $0["actor"], $0["detail"]) }
    }
  }

  /// Resolves an exact id, a unique name, a unique id prefix or a unique name prefix (an
  /// ambiguous one is refused, 64, listing the candidates).
  func resolve(_ reference: String) throws -> JobRecord {
    try store.read { database in
      if let exact = try Self.record(database, id: reference) { return exact }
      let named = try JobRecord.fetchAll(
        database, sql: "SELECT * FROM jobs WHERE name = ? LIMIT 11", arguments: [reference])
      if named.count == 1 { return named[0] }
      var matches = named
      if named.isEmpty {
        matches = try JobRecord.fetchAll(
          database,
          sql: """
            SELECT * FROM jobs WHERE substr(id, 1, length(?1)) = ?1 OR substr(name, 1, length(?1)) = ?1
            ORDER BY created_at DESC, id LIMIT 11
            """,
          arguments: [reference])
        if matches.count == 1 { return matches[0] }
      }
      if matches.isEmpty {
        throw VlatuneError.notFound(
          kind: "job", reference: reference, hint: "run 'vlatune job list' to see the jobs")
      }
      throw VlatuneError.ambiguous(
        kind: "job", reference: reference,
        candidates: matches.prefix(10).map { "\($0.id)\($0.name.map { " (\($0))" } ?? "") [\($0.state.rawValue)]" })
    }
  }

  /// Jobs newest first, optionally of one state.
  func list(state: JobState?, limit: Int) throws -> [JobRecord] {
    try store.read { database in try Self.listRequest(state: state, limit: limit).fetchAll(database) }
  }

  /// The query of ``list(state:limit:)`` (served by the `jobs(created_at, id)` index).
  static func listRequest(state: JobState?, limit: Int) -> QueryInterfaceRequest<JobRecord> {
    var request = JobRecord.order(Column("created_at").desc, Column("id").desc).limit(limit)
    if let state { request = request.filter(Column("state") == state.rawValue) }
    return request
  }

  /// Jobs that are not terminal.
  func active() throws -> [JobRecord] {
    try store.read { database in
      try JobRecord.filter(JobState.active.map(\.rawValue).contains(Column("state"))).fetchAll(database)
    }
  }
}
