import Foundation
import GRDB
import VlatuneGuardrails
import VlatuneStore
import VlatuneSupport

/// Gives back what admitting one attempt of a job consumed, when the attempt never started
/// (the watcher or Slurm submission could not be started, the trainer could not be spawned):
/// its rate-limit admissions, its GPU-hour estimate, and for a first attempt its idempotency
/// key. A resumed attempt that never started is undone: the job gets back the row and the
/// `spec.json` it had before the resume (its outcome, checkpoints and history unchanged), and
/// `job_events` says why. Training failures are never refunded.
enum AdmissionRefund {
  /// The `rate_events.ref` of an attempt's admissions: the job id for the first, `id@N` after.
  static func reference(jobID: String, attempt: Int) -> String {
    attempt <= 1 ? jobID : "\(jobID)@\(attempt)"
  }

  /// Refunds attempt `attempt` of `jobID` inside the caller's transaction and settles its
  /// audit row `refunded`; `reason` says why the attempt could not start.
  static func refund(_ database: Database, jobID: String, attempt: Int, reason: String, home: VlatuneHome) throws {
    try Admission.refund(database, reference: reference(jobID: jobID, attempt: attempt))
    if attempt <= 1 {
      try IdempotencyKeys.forget(database, job: jobID)
      try database.execute(sql: "UPDATE jobs SET estimated_gpu_hours = 0 WHERE id = ?", arguments: [jobID])
    } else if !(try restore(database, jobID: jobID, attempt: attempt, reason: reason)) {
      try database.execute(
        sql: "UPDATE job_attempts SET estimated_gpu_hours = 0 WHERE job_id = ? AND attempt = ?",
        arguments: [jobID, attempt])
    }
    try AuditLog.settle(database, jobID: jobID, outcome: "refunded", home: home)
  }

  /// Puts the job back as it was before attempt `attempt` was admitted; `false` when the
  /// attempt kept no snapshot.
  private static func restore(_ database: Database, jobID: String, attempt: Int, reason: String) throws -> Bool {
    guard
      let snapshot = try String.fetchOne(
        database, sql: "SELECT previous_row FROM job_attempts WHERE job_id = ? AND attempt = ?",
        arguments: [jobID, attempt]),
      let previous = try? JSONOutput.decode(JobRecord.self, from: Data(snapshot.utf8)),
      let current = try JobStore.record(database, id: jobID)?.state
    else { return false }
    try previous.update(database)
    try database.execute(
      sql: "DELETE FROM job_attempts WHERE job_id = ? AND attempt = ?", arguments: [jobID, attempt])
    try JobStore.appendEvent(
      database, job: jobID, at: Timestamp.format(Date()), from: current, to: previous.state, actor: "launcher",
      detail: "resume attempt \(attempt) could not start: \(reason); the job is as it was before")
    let path = previous.jobDir + "/spec.json"
    let text = (try? JSONOutput.decode(JobSpec.self, from: Data(previous.spec.utf8))).flatMap {
      try? JSONOutput.string($0)
    }
    database.afterNextTransaction { _ in
      try? FileIO.write(Array(((text ?? previous.spec) + "\n").utf8), to: path, mode: 0o600)
    }
    return true
  }
}
