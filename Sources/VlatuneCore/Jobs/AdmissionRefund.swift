import GRDB

/// Gives back what admitting one attempt of a job consumed, when the attempt never started
/// (the watcher or Slurm submission could not be started, the trainer could not be spawned):
/// its rate-limit admissions, its GPU-hour estimate, and for a first attempt its idempotency
/// key. Training failures are never refunded.
enum AdmissionRefund {
  /// The `rate_events.ref` of an attempt's admissions: the job id for the first, `id@N` after.
  static func reference(jobID: String, attempt: Int) -> String {
    attempt <= 1 ? jobID : "\(jobID)@\(attempt)"
  }

  /// Refunds attempt `attempt` of `jobID` inside the caller's transaction and settles its
  /// audit row `refunded`.
  static func refund(_ database: Database, jobID: String, attempt: Int, home: VlatuneHome) throws {
    try database.execute(
      sql: "DELETE FROM rate_events WHERE ref = ?",
      arguments: [reference(jobID: jobID, attempt: attempt)])
    if attempt <= 1 {
      try database.execute(sql: "DELETE FROM idempotency_keys WHERE job_id = ?", arguments: [jobID])
      try database.execute(sql: "UPDATE jobs SET estimated_gpu_hours = 0 WHERE id = ?", arguments: [jobID])
    } else {
      try database.execute(
        sql: "UPDATE job_attempts SET estimated_gpu_hours = 0 WHERE job_id = ? AND attempt = ?",
        arguments: [jobID, attempt])
    }
    try AuditLog.settle(database, jobID: jobID, outcome: "refunded", home: home)
  }
}
