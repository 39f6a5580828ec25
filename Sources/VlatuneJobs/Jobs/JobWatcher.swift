import Foundation
import GRDB
import Glibc
import VlatuneGuardrails
import VlatuneStore
import VlatuneSupport

/// The detached process that owns one job (`vlatune job __watch ID`): it holds the job's lock for
/// its whole life, waits for GPU slots, starts the trainer in its own process group with a
/// parent-death signal, copies its output to the logs, ingests its events, enforces cancels
/// (SIGTERM, grace, SIGKILL) and records the outcome.
///
/// - Important: Run it on the main thread: the trainer's parent-death signal is tied to the
///   thread that started it.
public struct JobWatcher {
  let home: VlatuneHome
  let jobs: JobStore
  let environment: [String: String]
  let cancellation: CancellationToken
  /// Running as a Slurm batch step: Slurm has allocated the resources, so no slot waiting; the
  /// watcher takes the job's lock itself.
  let inAllocation: Bool
  /// How often the loop wakes to check the database, the events file and the child.
  static let tick: Int32 = 50
  /// Grace period applied when the watcher itself is asked to stop with SIGTERM.
  static let defaultGrace = 30.0

  /// - Parameters:
  ///   - context: The state directory and database.
  ///   - cancellation: Set when the watcher receives SIGTERM; treated as a cancel request.
  ///   - inAllocation: Started by Slurm inside the job's allocation (`--in-allocation`).
  public init(context: VlatuneContext, cancellation: CancellationToken, inAllocation: Bool = false) {
    self.home = context.home
    self.jobs = JobStore(store: context.store)
    self.environment = context.environment
    self.cancellation = cancellation
    self.inAllocation = inAllocation
  }

  /// The job's spec. The watcher runs the trainer command it names, so a job directory or spec
  /// another user could have changed is refused (``SafePath``), and the job fails saying so.
  static func spec(of record: JobRecord) throws -> JobSpec {
    try SafePath.check(record.jobDir, what: "job directory")
    try SafePath.check(record.jobDir + "/spec.json", what: "job spec")
    return try JSONOutput.decode(JobSpec.self, from: Data(try FileIO.read(record.jobDir + "/spec.json")))
  }

  /// Runs the job to a terminal state.
  ///
  /// - Returns: The watcher's exit status (0 when it recorded an outcome).
  public func run(jobID: String) -> Int32 {
    do {
      try supervise(jobID)
      return 0
    } catch {
      let message = "watcher failed: \((error as? VlatuneError)?.message ?? "\(error)")"
      _ = try? jobs.transition(
        jobID, from: JobState.active, to: .failed, actor: "watcher",
        set: [(.errorCode, "setup_failed"), (.errorMessage, message)])
      FileHandle.standardError.write(Data((message + "\n").utf8))
      return 70
    }
  }

  private func supervise(_ jobID: String) throws {
    guard let record = try jobs.record(jobID) else {
      throw VlatuneError.notFound(kind: "job", reference: jobID, hint: "")
    }
    guard !record.state.isTerminal else { return }
    var spec = try Self.spec(of: record)
    var allocationLock: FileLock?
    if inAllocation {
      // `job start` holds the lock until it has stored the Slurm job id; an idle cluster can
      // start the allocation before that. Wait for it rather than exit 0 with nothing done.
      let deadline = Date().addingTimeInterval(120)
      while allocationLock == nil {
        allocationLock = try FileLock.tryLock(record.jobDir + "/watcher.lock")
        if allocationLock == nil {
          guard Date() < deadline else {
            throw VlatuneError.internalError(
              message: "the lock of job \(jobID) stayed held for 120 s; another watcher runs it")
          }
          usleep(100_000)
        }
      }
      // The job may have been cancelled while Slurm was starting the allocation.
      guard let current = try jobs.record(jobID), !current.state.isTerminal else { return }
    }
    defer { withExtendedLifetime(allocationLock) {} }
    let me = getpid()
    try jobs.update(
      jobID, set: [(.watcherPid, Int(me)), (.watcherStartTime, ProcessSpawner.startTime(of: me))])

    var runSlot: FileLock?
    var slots: [(Int, FileLock)] = []
    if !inAllocation {
      guard
        let acquired = try waitForSlots(
          jobID, gpus: spec.gpus, maxRunning: max(spec.maxRunningJobs, 1), runSlot: &runSlot)
      else { return }
      slots = acquired
    }
    defer { withExtendedLifetime((slots, runSlot)) {} }
    let slotList =
      inAllocation
      ? (environment["CUDA_VISIBLE_DEVICES"] ?? "") : slots.map { "\($0.0)" }.joined(separator: ",")
    guard
      try jobs.transition(
        jobID, from: [.queued], to: .starting, actor: "watcher",
        set: [(.queueReason, nil), (.gpuSlots, slotList)])
    else { return }
    // Read again now that it runs: the spec may have waited in the queue for hours.
    spec = try Self.spec(of: record)

    var trainerEnvironment = spec.trainer.environment
    for name in spec.trainer.passedNames ?? [] {
      if let value = environment[name] { trainerEnvironment[name] = value }
    }
    trainerEnvironment["CUDA_VISIBLE_DEVICES"] = slotList
    trainerEnvironment["VLATUNE_JOB_ID"] = jobID
    trainerEnvironment["VLATUNE_JOB_DIR"] = spec.jobDir
    let logs = try TrainerLogs(directory: spec.jobDir)
    var options = ProcessSpawner.Options()
    options.standardOutput = logs.stdoutWriteEnd
    options.standardError = logs.stderrWriteEnd
    options.newProcessGroup = true
    options.parentDeathSignal = SIGKILL
    let pid: Int32
    do {
      pid = try ProcessSpawner.spawn(
        resolvedArgv(spec.trainer.argv) + ["--spec", spec.jobDir + "/spec.json"],
        environment: trainerEnvironment, options: options)
    } catch let error as VlatuneError {
      // Never started: failed, and this attempt's admission is refunded.
      try jobs.store.write { database in
        _ = try jobs.transition(
          database, jobID, from: [.starting], to: .failed, actor: "watcher",
          set: [
            (.errorCode, "spawn_failed"),
            (
              .errorMessage,
              "\(error.message); install the trainer environment (make venv) or set "
                + "VLATUNE_TRAINER / VLATUNE_PYTHON"
            ),
          ])
        try AdmissionRefund.refund(
          database, jobID: jobID, attempt: record.attempt, reason: error.message, home: home)
      }
      return
    }
    logs.closeWriteEnds()
    let startedAt = Date()
    let running = try jobs.transition(
      jobID, from: [.starting], to: .running, actor: "watcher",
      set: [
        (.trainerPid, Int(pid)), (.trainerStartTime, ProcessSpawner.startTime(of: pid)),
        (.startedAt, Timestamp.format(startedAt)),
      ])
    // Settled here too: the `job start` that handed the job on may have been killed since.
    AuditLog.settle(jobID: jobID, outcome: "started", store: jobs.store, home: home)
    if !running {
      // Cancelled while starting: the trainer must not run on.
      kill(-pid, SIGKILL)
      _ = Self.reap(pid)
      return
    }
    try watch(jobID, pid: pid, spec: spec, logs: logs, startedAt: startedAt)
  }

  /// The trainer command with the rendezvous host of a multi-node launch filled in (the first
  /// node of the Slurm allocation).
  private func resolvedArgv(_ argv: [String]) -> [String] {
    guard argv.contains(where: { $0.contains(DistributedLaunch.headNode) }) else { return argv }
    var head = environment["SLURMD_NODENAME"] ?? "localhost"
    if let list = environment["SLURM_JOB_NODELIST"],
      let result = try? SlurmClient(environment: environment).run("scontrol", ["show", "hostnames", list]),
      result.status == 0, let first = result.output.split(separator: "\n").first
    {
      head = String(first)
    }
    return argv.map { $0.replacingOccurrences(of: DistributedLaunch.headNode, with: head) }
  }

  /// Waits until a running-job slot (the policy's `max_running_jobs`) and `gpus` GPU slots are
  /// free (the state stays `queued` with a `queue_reason`), or the job is cancelled (`nil`).
  /// Returns the GPU slots; the running-job slot is held in `runSlot`.
  private func waitForSlots(_ jobID: String, gpus: Int, maxRunning: Int, runSlot: inout FileLock?)
    throws -> [(Int, FileLock)]?
  {
    let total = GPUInventory.count(environment: environment)
    var announced = ""
    while true {
      if runSlot == nil {
        runSlot = try GPUInventory.acquire(
          count: 1, total: maxRunning, directory: home.root.path + "/run-slots")?.first?.1
      }
      if runSlot != nil,
        let slots = try GPUInventory.acquire(count: gpus, total: total, directory: home.root.path + "/gpus")
      {
        return slots
      }
      let reason =
        runSlot == nil
        ? "waiting for a running-job slot (max_running_jobs \(maxRunning))"
        : "waiting for \(gpus) free GPU slot(s)"
      if reason != announced {
        try jobs.update(jobID, set: [(.queueReason, reason)])
        announced = reason
      }
      guard let state = try jobs.record(jobID)?.state, state == .queued else { return nil }
      if cancellation.cancelledBy != nil {
        try jobs.transition(
          jobID, from: [.queued], to: .cancelled, actor: "signal:watcher",
          set: [(.cancelRequestedAt, Timestamp.format(Date())), (.cancelledBy, "signal:watcher")])
        return nil
      }
      usleep(200_000)
    }
  }

  private func watch(
    _ jobID: String, pid: Int32, spec: JobSpec, logs: TrainerLogs, startedAt: Date
  ) throws {
    guard let record = try jobs.record(jobID) else { return }
    let ingestor = EventIngestor(
      jobs: jobs, record: record, eventsPath: spec.eventsPath, startedAt: startedAt)
    var terminated = false
    var killed = false
    var lastCheck = Date.distantPast
    var status: Int32?
    // A database locked by another process never stops the trainer: updates wait (BusyDatabase).
    var database = BusyDatabase()
    while status == nil {
      logs.pump(timeoutMilliseconds: Self.tick)
      _ = try database.attempt { try ingestor.poll() }
      if let result = Self.reap(pid, wait: false) {
        status = result
        break
      }
      let now = Date()
      guard now.timeIntervalSince(lastCheck) >= 0.1 else { continue }
      lastCheck = now
      if cancellation.cancelledBy != nil {
        _ = try database.attempt {
          try jobs.transition(
            jobID, from: [.running], to: .cancelling, actor: "signal:watcher",
            set: [
              (.cancelRequestedAt, Timestamp.format(now)), (.cancelledBy, "signal:watcher"),
              (.cancelDeadline, now.timeIntervalSince1970 + Self.defaultGrace),
            ])
        }
      }
      guard let current = try database.attempt({ try jobs.record(jobID) }) ?? nil,
        current.state == .cancelling
      else { continue }
      if !terminated {
        kill(-pid, SIGTERM)
        terminated = true
      }
      if !killed, let deadline = current.cancelDeadline, now.timeIntervalSince1970 >= deadline {
        kill(-pid, SIGKILL)
        killed = true
      }
    }
    // The trainer is gone; anything left in its process group goes with it.
    kill(-pid, SIGKILL)
    logs.drain()
    _ = try database.untilDone { try ingestor.poll() }
    try database.untilDone { try recordOutcome(status ?? 0, jobID: jobID, ingestor: ingestor, logs: logs) }
  }

  private func recordOutcome(_ status: Int32, jobID: String, ingestor: EventIngestor, logs: TrainerLogs)
    throws
  {
    let exited = status & 0x7F == 0
    let exitCode = exited ? Int((status >> 8) & 0xFF) : nil
    let signal = exited ? nil : Int(status & 0x7F)
    try jobs.store.write { database in
      guard let current = try JobRecord.fetchOne(database, key: jobID), !current.state.isTerminal
      else { return }
      var set: [JobStore.Assignment] = [(.exitCode, exitCode), (.signal, signal)]
      let target: JobState
      if current.state == .cancelling {
        target = .cancelled
      } else if exitCode == 0 && ingestor.completed {
        target = .succeeded
      } else {
        target = .failed
        let tail = logs.stderrTail()
        let (code, message): (String, String)
        if let failure = ingestor.trainerFailure {
          (code, message) = (failure.code, failure.message.isEmpty ? tail : failure.message)
        } else if let signal {
          (code, message) = ("signal", "the trainer was killed by signal \(signal)\(tail.isEmpty ? "" : ":\n" + tail)")
        } else if exitCode == 0 {
          (code, message) = ("incomplete", "the trainer exited 0 without a completed event")
        } else {
          (code, message) = (
            "nonzero_exit", "the trainer exited with status \(exitCode ?? -1)\(tail.isEmpty ? "" : ":\n" + tail)"
          )
        }
        set += [(.errorCode, code), (.errorMessage, message)]
      }
      _ = try jobs.transition(
        database, jobID, from: [current.state], to: target, actor: "watcher", set: set)
    }
  }

  /// Reaps `pid`; returns its wait status once it has exited.
  static func reap(_ pid: Int32, wait: Bool = true) -> Int32? {
    var status: Int32 = 0
    while true {
      let result = waitpid(pid, &status, wait ? 0 : WNOHANG)
      if result == pid { return status }
      if result == 0 { return nil }
      if errno == EINTR { continue }
      return 0
    }
  }
}
