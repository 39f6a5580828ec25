/// Marks jobs `lost` whose watcher is gone: a non-terminal job whose lock file nobody holds has
/// no process left to record its outcome (killed watcher, reboot). Runs before every status,
/// list, wait and cancel; each change is a compare-and-set, so a watcher that finishes at the
/// same moment wins or loses cleanly.
struct JobLiveness {
  let jobs: JobStore

  /// Checks one job; returns whether it was marked lost.
  @discardableResult
  func reap(_ record: JobRecord) throws -> Bool {
    guard !record.state.isTerminal else { return false }
    let lockPath = record.jobDir + "/watcher.lock"
    guard !FileLock.isHeld(lockPath) else { return false }
    return try jobs.transition(
      record.id, from: JobState.active, to: .lost, actor: "liveness",
      set: [
        ("error_code", "watcher_lost"),
        ("error_message",
          "the process watching this job is gone (killed, or the machine restarted) and recorded "
          + "no outcome; checkpoints, if any, are listed in the job"),
      ])
  }

  /// Checks every non-terminal job.
  func reapAll() throws {
    for record in try jobs.active() { try reap(record) }
  }
}
