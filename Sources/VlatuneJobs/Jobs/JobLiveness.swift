import Foundation
import VlatuneGuardrails
import VlatuneStore
import VlatuneSupport

/// Marks jobs `lost` whose watcher is gone: a non-terminal job whose lock file nobody holds has
/// no process left to record its outcome (killed watcher, reboot). Runs before every status,
/// list, wait and cancel; each change is a compare-and-set, so a watcher that finishes at the
/// same moment wins or loses cleanly.
///
/// Slurm jobs are judged by Slurm instead (their watcher only exists once the allocation
/// starts): pending jobs stay `queued` with Slurm's reason; a job Slurm has ended whose watcher
/// recorded nothing gets the mapped state (COMPLETED → succeeded, CANCELLED → cancelled, FAILED,
/// TIMEOUT, NODE_FAIL, OUT_OF_MEMORY … → failed with that code); a job Slurm no longer knows
/// at all is `lost`.
struct JobLiveness {
  let jobs: JobStore
  let home: VlatuneHome
  let slurm: SlurmClient

  init(jobs: JobStore, home: VlatuneHome, environment: [String: String] = ProcessInfo.processInfo.environment) {
    self.jobs = jobs
    self.home = home
    self.slurm = SlurmClient(environment: environment)
  }

  /// Checks one job; returns whether it was marked lost or ended.
  @discardableResult
  func reap(_ record: JobRecord) throws -> Bool {
    guard !record.state.isTerminal else { return false }
    if FileLock.isHeld(lockPath(record)) { return false }
    if record.executor == "slurm", let native = record.nativeId {
      return try reapSlurm(record, native: native)
    }
    return try markLost(record)
  }

  private func markLost(_ record: JobRecord, detail: String? = nil) throws -> Bool {
    let lost = try jobs.transition(
      record.id, from: JobState.active, to: .lost, actor: "liveness",
      set: [
        (.errorCode, "watcher_lost"),
        (
          .errorMessage,
          detail
            ?? "the process watching this job is gone (killed, or the machine restarted) and "
            + "recorded no outcome; checkpoints, if any, are listed in the job"
        ),
      ], attempt: record.attempt)
    // A start killed before it handed the job on left its audit row pending.
    if lost { AuditLog.settle(jobID: record.id, outcome: "interrupted", store: jobs.store, home: home) }
    return lost
  }

  private func reapSlurm(_ record: JobRecord, native: String) throws -> Bool {
    guard let status = slurm.status(native) else {
      return try markLost(
        record, detail: "Slurm no longer knows job \(native) and its watcher recorded no outcome")
    }
    let (state, code) = SlurmStateMapping.map(status.state)
    switch state {
    case .queued:
      if record.state == .queued {
        let reason = "Slurm job \(native) \(status.state)" + (status.reason.map { " (\($0))" } ?? "")
        if reason != record.queueReason { try jobs.update(record.id, set: [(.queueReason, reason)]) }
      }
      return false
    case .running:
      // The allocation runs; its watcher is starting or about to record the outcome.
      return false
    default:
      // Re-read: the watcher may have recorded the outcome while Slurm was asked.
      // Still the attempt Slurm was asked about (a resume submits a new Slurm job).
      guard let current = try jobs.record(record.id), !current.state.isTerminal,
        current.attempt == record.attempt, current.nativeId == native, !FileLock.isHeld(lockPath(record))
      else { return false }
      var set: [JobStore.Assignment] = [(.exitCode, status.exitCode)]
      if let code {
        set += [
          (.errorCode, code),
          (
            .errorMessage,
            "Slurm ended job \(native) as \(status.state)" + (status.reason.map { " (\($0))" } ?? "")
              + (status.exitCode.map { ", exit code \($0)" } ?? "")
          ),
        ]
      }
      return try jobs.transition(
        record.id, from: JobState.active, to: state, actor: "slurm", set: set, attempt: record.attempt)
    }
  }

  private func lockPath(_ record: JobRecord) -> String { record.jobDir + "/watcher.lock" }

  /// Checks every non-terminal job.
  func reapAll() throws {
    for record in try jobs.active() { try reap(record) }
  }
}
