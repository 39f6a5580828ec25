import Foundation
import GRDB
import Glibc
import VlatuneGuardrails
import VlatuneStore
import VlatuneSupport

/// Hands an admitted job (a new one from `job start`, or a new attempt from `job resume`) to
/// its executor: the detached local watcher (returning once it has started the trainer, is
/// waiting for a slot, or has failed) or a Slurm submission. When the hand-off fails the job is
/// `failed` with `spawn_failed` and the attempt's admission is refunded (``AdmissionRefund``).
struct JobHandOff {
  let context: VlatuneContext
  let watcherExecutable: String
  let jobs: JobStore
  /// How long the hand-off waits for the watcher's first report.
  static let handshakeTimeout = 30.0

  /// Hands the job on and settles its allowed audit row `started`.
  ///
  /// - Parameters:
  ///   - spec: The job's spec (already in `spec.json`).
  ///   - attempt: The attempt being started (1 for `job start`).
  ///   - lock: The job's `watcher.lock`, held by the caller; the watcher inherits it.
  func run(_ spec: JobSpec, attempt: Int, lock: FileLock) throws -> JobDocument {
    if spec.executor == "slurm" {
      try submitToSlurm(spec, attempt: attempt)
      AuditLog.settle(jobID: spec.jobId, outcome: "started", store: context.store, home: context.home)
      withExtendedLifetime(lock) {}
      return try jobs.document(spec.jobId)
    }
    try spawnWatcher(
      id: spec.jobId, jobDir: spec.jobDir, attempt: attempt, lock: lock, passed: spec.trainer.passedNames ?? [])
    // A watcher that cannot start the trainer refunds the admission and settles it itself.
    let document = try awaitHandshake(spec.jobId, attempt: attempt)
    AuditLog.settle(jobID: spec.jobId, outcome: "started", store: context.store, home: context.home)
    return document
  }

  /// Renders `job.sbatch` and submits it, holding the job's lock until the native id is stored
  /// (liveness treats a Slurm job without a native id and without a lock holder as lost). When
  /// Slurm refuses, the job is `failed`/`spawn_failed` and its admission refunded, and Slurm's
  /// message is the error.
  private func submitToSlurm(_ spec: JobSpec, attempt: Int) throws {
    let script = spec.jobDir + "/job.sbatch"
    do {
      try FileIO.write(
        SlurmScript.render(spec: spec, vlatune: watcherExecutable, home: context.home.root.path),
        to: script)
      // sbatch exports its environment to the allocation: the watcher's, not the caller's whole.
      let native = try SlurmClient(
        environment: TrainerCommand.watcherEnvironment(
          from: context.environment, extra: spec.trainer.passedNames ?? [])
      )
      .submit(script: script)
      try jobs.update(
        spec.jobId,
        set: [(.nativeId, native), (.queueReason, "submitted to Slurm as job \(native)")])
    } catch let error as VlatuneError {
      try fail(spec.jobId, attempt: attempt, message: error.message)
      throw error
    }
  }

  private func spawnWatcher(id: String, jobDir: String, attempt: Int, lock: FileLock, passed: [String]) throws {
    let log = open(jobDir + "/watcher.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    defer { if log >= 0 { close(log) } }
    var options = ProcessSpawner.Options()
    options.standardOutput = log >= 0 ? log : nil
    options.standardError = log >= 0 ? log : nil
    options.inheritedDescriptor = lock.descriptor
    options.newSession = true
    do {
      _ = try ProcessSpawner.spawn(
        [watcherExecutable, "job", "__watch", id],
        environment: TrainerCommand.watcherEnvironment(from: context.environment, extra: passed),
        options: options)
    } catch let error as VlatuneError {
      // The job never started: it is recorded as failed, and its admission is refunded
      // (training failures are never refunded).
      try fail(id, attempt: attempt, message: "cannot start the watcher: \(error.message)")
      throw VlatuneError.resourceUnavailable(
        message: "job \(id) failed: cannot start the watcher: \(error.message)")
    }
  }

  private func fail(_ id: String, attempt: Int, message: String) throws {
    try context.store.write { database in
      _ = try jobs.transition(
        database, id, from: [.queued], to: .failed, actor: "launcher",
        set: [(.errorCode, "spawn_failed"), (.errorMessage, message)])
      try AdmissionRefund.refund(database, jobID: id, attempt: attempt, reason: message, home: context.home)
    }
  }

  private func awaitHandshake(_ id: String, attempt: Int) throws -> JobDocument {
    let deadline = Date().addingTimeInterval(Self.handshakeTimeout)
    while Date() < deadline {
      guard let record = try jobs.record(id) else { break }
      if record.attempt < attempt {
        // A resumed attempt that could not start was undone; job_events says why.
        let detail = try jobs.events(id).last?.detail ?? "the trainer could not be started"
        throw VlatuneError.resourceUnavailable(message: "job \(id): \(detail)")
      }
      if record.state == .failed && record.errorCode == "spawn_failed" {
        throw VlatuneError.resourceUnavailable(
          message: "job \(id) failed to start the trainer: \(record.errorMessage ?? "")")
      }
      if record.state != .queued && record.state != .starting { break }
      if record.state == .queued && record.queueReason != nil { break }
      usleep(2_000)
    }
    return try jobs.document(id)
  }
}
