import Foundation
import GRDB
import VlatuneStore
import VlatuneSupport

/// Reads and controls jobs: status (after a liveness check), list, wait, cancel, logs.
public struct JobControl: Sendable {
  let jobs: JobStore
  let liveness: JobLiveness
  let environment: [String: String]

  /// - Parameter context: State directory and database.
  public init(context: VlatuneContext, now: @escaping @Sendable () -> Date = Date.init) {
    jobs = JobStore(store: context.store, now: now)
    liveness = JobLiveness(jobs: jobs, home: context.home, environment: context.environment)
    environment = context.environment
  }

  /// The job a reference names, after marking it `lost` if its watcher is gone.
  public func status(_ reference: String) throws -> JobDocument {
    let record = try jobs.resolve(reference)
    // A terminal job has nothing to reap: the row just read is its document.
    if record.state.isTerminal { return try jobs.document(record) }
    try liveness.reap(record)
    return try jobs.document(record.id)
  }

  /// Jobs newest first (after marking lost ones).
  public func list(state: JobState? = nil, limit: Int = 50) throws -> [JobDocument] {
    try liveness.reapAll()
    let records = try jobs.list(state: state, limit: limit)
    return try jobs.store.read { database in try records.map { try JobStore.document(database, $0) } }
  }

  /// The jobs a checked query asks for.
  public func list(_ query: ListQuery) throws -> [JobDocument] {
    guard query.namePrefix != nil || !query.metadata.isEmpty else {
      return try list(state: query.state, limit: query.limit)
    }
    try liveness.reapAll()
    return try jobs.store.read { database in
      var clauses: [String] = []
      var arguments: [(any DatabaseValueConvertible)?] = []
      if let state = query.state {
        clauses.append("state = ?")
        arguments.append(state.rawValue)
      }
      if let prefix = query.namePrefix {
        // Case-sensitive, as names are (LIKE ignores ASCII case).
        clauses.append("substr(name, 1, length(?)) = ?")
        arguments += [prefix, prefix]
      }
      for (key, value) in query.metadata.sorted(by: { $0.key < $1.key }) {
        clauses.append(
          "EXISTS (SELECT 1 FROM json_each(jobs.metadata) WHERE json_each.key = ? AND json_each.value = ?)")
        arguments += [key, value]
      }
      arguments.append(query.limit)
      let records = try JobRecord.fetchAll(
        database,
        sql: "SELECT * FROM jobs WHERE \(clauses.joined(separator: " AND ")) ORDER BY created_at DESC, id DESC LIMIT ?",
        arguments: StatementArguments(arguments))
      return try records.map { try JobStore.document(database, $0) }
    }
  }

  /// What `job list` and `list_finetune_jobs` ask for, checked before the call is admitted.
  public struct ListQuery: Sendable {
    /// Only jobs in this state.
    public var state: JobState?
    /// At most this many.
    public var limit: Int
    /// Only jobs whose name starts with this.
    public var namePrefix: String?
    /// Only jobs with every one of these labels.
    public var metadata: [String: String] = [:]

    /// Checks a state name and a limit (default 50).
    ///
    /// - Throws: ``VlatuneError/invalidArgument(param:message:)`` naming `state` or `limit`.
    public init(
      stateName: String?, limit: Int?, namePrefix: String? = nil, metadata: [String: String] = [:]
    ) throws {
      self.namePrefix = namePrefix
      self.metadata = metadata
      if let stateName {
        guard let parsed = JobState(rawValue: stateName) else {
          throw VlatuneError.invalidArgument(
            param: "state",
            message: "must be one of \(JobState.allCases.map(\.rawValue).joined(separator: ", ")), "
              + "got '\(TerminalText.escaped(stateName))'")
        }
        state = parsed
      }
      self.limit = limit ?? 50
      guard (1...10_000).contains(self.limit) else {
        throw VlatuneError.invalidArgument(param: "limit", message: "must be in 1…10000, got \(self.limit)")
      }
    }
  }

  /// Waits until the job is terminal or `timeout` seconds pass.
  ///
  /// - Returns: The final (or current, on timeout) document.
  public func wait(_ reference: String, timeout: Double?, poll: Double = 0.1) throws -> JobDocument {
    let id = try jobs.resolve(reference).id
    let deadline = timeout.map { Date().addingTimeInterval($0) }
    while true {
      let document = try status(id)
      if document.state.isTerminal { return document }
      if let deadline, Date() >= deadline { return document }
      usleep(UInt32(poll * 1_000_000))
    }
  }

  /// Cancels a job; idempotent in every state.
  ///
  /// `queued`/`starting` become `cancelled` at once; `running` becomes `cancelling` and the
  /// watcher sends SIGTERM to the trainer's process group, then SIGKILL after `grace` seconds;
  /// terminal jobs are returned unchanged.
  ///
  /// - Parameters:
  ///   - wait: Wait for a terminal state (up to the grace period plus 15 s).
  public func cancel(
    _ reference: String, grace: Double, reason: String?, actor: String, wait: Bool = true
  ) throws -> JobDocument {
    try Self.checkReason(reason)
    let record = try jobs.resolve(reference)
    try liveness.reap(record)
    let now = jobs.now()
    let common: [JobStore.Assignment] = [
      (.cancelRequestedAt, Timestamp.format(now)), (.cancelledBy, actor),
      (.cancelReason, reason),
    ]
    let queuedCancelled = try jobs.transition(
      record.id, from: [.queued, .starting], to: .cancelled, actor: actor, set: common)
    var runningCancelling = false
    if !queuedCancelled {
      runningCancelling = try jobs.transition(
        record.id, from: [.running], to: .cancelling, actor: actor,
        set: common + [(.cancelDeadline, now.timeIntervalSince1970 + grace)])
    }
    if record.executor == "slurm", let native = try jobs.record(record.id)?.nativeId {
      // Pending in Slurm: end it there too. Running: the watcher in the allocation sees
      // `cancelling` and stops the trainer; TERM to the batch step says the same, and the job is
      // ended in Slurm once the grace period is over.
      let slurm = SlurmClient(environment: environment)
      if queuedCancelled { slurm.cancel(native) }
      if runningCancelling || record.state == .cancelling { slurm.cancel(native, signal: "TERM") }
      guard wait else { return try jobs.document(record.id) }
      let document = try self.wait(record.id, timeout: grace + 15)
      if !document.state.isTerminal || queuedCancelled { slurm.cancel(native) }
      return try status(record.id)
    }
    guard wait else { return try jobs.document(record.id) }
    return try self.wait(record.id, timeout: grace + 15)
  }

  /// What a cancel of a job that had already ended says (`nil` when there is something to cancel).
  public static func nothingToCancel(_ job: JobDocument) -> String? {
    guard job.state.isTerminal else { return nil }
    return "job \(job.id) already \(job.state.rawValue); nothing to cancel"
  }

  /// Refuses a cancel reason with control characters or over 1024 bytes (checked before the
  /// call is admitted, and again here).
  public static func checkReason(_ reason: String?) throws {
    guard let reason, TerminalText.hasControlCharacters(reason) || reason.utf8.count > 1024 else { return }
    throw VlatuneError.invalidArgument(
      param: "reason",
      message: "reason must be at most 1024 bytes without control characters, got "
        + "'\(TerminalText.escaped(String(reason.prefix(64))))…'")
  }

  /// The lifecycle events of a job.
  public func events(_ reference: String) throws -> [(
    at: String, from: String?, to: String, actor: String, detail: String?
  )] {
    try jobs.events(try jobs.resolve(reference).id)
  }
}

extension JobControl {
  /// A job's document and its metrics history (``MetricsHistory``).
  public func metrics(_ reference: String) throws -> (job: JobDocument, history: MetricsHistory) {
    let document = try status(reference)
    return (document, try jobs.metrics(document.id))
  }

  /// A job's document and the parameters it was started with (its attempt's `max_steps`),
  /// for `job show-config`.
  public func parameters(_ reference: String) throws -> (job: JobDocument, parameters: [String: JSONValue]) {
    let record = try jobs.resolve(reference)
    let spec = try JSONOutput.decode(JobSpec.self, from: Data(record.spec.utf8))
    var parameters = spec.storedParameters
    parameters["max_steps"] = .number(Double(spec.hyperparameters.maxSteps))
    return (try jobs.document(record), parameters)
  }
}

extension JobControl {
  /// What `vlatune predict JOB` runs: the trainer environment's Python for the job's base model
  /// and the adapter directory (`output/adapter`, or `output/best` with `best`).
  ///
  /// - Throws: 66 when the job has no such adapter yet; 64 for another `which`.
  public func predictTarget(_ reference: String, which: String, home: VlatuneHome) throws
    -> (python: String, adapter: String)
  {
    guard ["final", "best"].contains(which) else {
      throw VlatuneError.invalidArgument(
        param: "--adapter", message: "must be final or best, got '\(TerminalText.escaped(which))'")
    }
    let record = try jobs.resolve(reference)
    let spec = try JSONOutput.decode(JobSpec.self, from: Data(record.spec.utf8))
    let adapter = spec.outputDir + (which == "best" ? "/best" : "/adapter")
    guard FileIO.kind(adapter + "/adapter_config.json") == .regular else {
      throw VlatuneError.notFound(
        kind: which == "best" ? "best adapter" : "adapter", reference: record.id,
        hint: which == "best"
          ? "it is written at the first evaluation that improves val_l1"
          : "it is written when the job succeeds (the job is \(record.state.rawValue)); "
            + "try --adapter best, or 'vlatune job resume \(record.id)'")
    }
    let python = TrainerCommand.python(environment: environment, home: home, kind: BaseModelKind.of(spec.baseModel))
    return (python, adapter)
  }
}
