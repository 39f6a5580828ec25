import Foundation
import Testing
import VlatuneTestSupport

/// The job lifecycle against the built binary, real detached processes and signals, and the
/// fake trainer standing in for the GPU work.
@Suite(.enabled(if: TestPaths.hasPython), .serialized)
struct JobLifecycleCLITests {
  @Test func jobRunsToSuccessAndReportsEverything() throws {
    let bed = try JobTestbed()
    let started = try bed.run(
      [
        "job", "start", "--base-model", "tiny-vla", "--dataset", "sample", "--max-steps", "10",
        "--name", "first", "--seed", "7", "--json",
      ])
    #expect(started.status == 0, "\(started.standardError)")
    let document = try started.json()
    let id = try #require(document["id"] as? String)
    #expect(id.hasPrefix("job_"))
    #expect(["running", "succeeded"].contains(document["state"] as? String))
    let hyper = try #require(document["hyperparameters"] as? [String: Any])
    #expect(hyper["lora_rank"] as? Int == 32 && hyper["lora_alpha"] as? Double == 16)
    #expect(hyper["effective_batch_size"] as? Int == 8 && hyper["seed"] as? Int == 7)
    for key in ["error", "finished_at", "exit_code", "signal", "idempotency_key"] {
      #expect(document.keys.contains(key), "missing key \(key)")
    }

    let final = try bed.waitForState(id, ["succeeded", "failed"])
    #expect(final["state"] as? String == "succeeded")
    #expect(final["exit_code"] as? Int == 0)
    let progress = try #require(final["progress"] as? [String: Any])
    #expect(progress["step"] as? Int == 10 && progress["total_steps"] as? Int == 10)
    let checkpoints = try #require(final["checkpoints"] as? [[String: Any]])
    #expect(checkpoints.map { $0["step"] as? Int } == [5, 10])
    #expect((final["eval"] as? [String: Double])?["val_l1"] == 0.1)
    #expect((final["loss_history"] as? [Double])?.count == 10)

    // The trainer got an explicit environment: CUDA_VISIBLE_DEVICES empty for CPU, nothing else
    // from the caller's environment beyond the allowed names.
    let jobDir = try #require(final["job_dir"] as? String)
    let env =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: jobDir + "/trainer-env.json"))) as! [String: String]
    #expect(env["CUDA_VISIBLE_DEVICES"] == "")
    #expect(env["VLATUNE_JOB_ID"] == id)
    #expect(env["VLATUNE_TRAINER"] == nil && env["VLATUNE_HOME"] == nil)

    let logs = try bed.vlatune.run(["job", "logs", "first", "--tail", "2"])
    #expect(logs.standardOutput.hasSuffix("step 9\nstep 10\n"))
    let stderr = try bed.vlatune.run(["job", "logs", id, "--stream", "stderr"])
    #expect(stderr.standardOutput == "fake trainer stderr line\n")
    let wait = try bed.vlatune.run(["job", "wait", id])
    #expect(wait.status == 0)
    let list = try bed.vlatune.run(["job", "list", "--state", "succeeded", "--json"])
    #expect((try list.json()["jobs"] as? [[String: Any]])?.first?["id"] as? String == id)
  }

  @Test(arguments: [
    ("fail", "nonzero_exit", "boom: the trainer hit a bad batch"),
    ("oom", "oom", "CUDA out of memory"),
    ("crash", "signal", "killed by signal 9"),
    ("no-complete", "incomplete", "without a completed event"),
  ])
  func failuresAreRecordedWithTheirCode(_ mode: String, _ code: String, _ message: String) throws {
    let bed = try JobTestbed()
    let result = try bed.run(
      ["job", "start", "--base-model", "tiny-vla", "--dataset", "sample", "--wait", "--json"],
      trainer: JobTestbed.trainer(mode))
    #expect(result.status == 100, "\(result.standardError)")
    let document = try result.json()
    #expect(document["state"] as? String == "failed")
    let error = try #require(document["error"] as? [String: Any])
    #expect(error["code"] as? String == code)
    #expect((error["message"] as? String)?.contains(message) == true, "\(error)")
    if mode == "crash" { #expect(document["signal"] as? Int == 9) }
    if mode == "fail" { #expect(document["exit_code"] as? Int == 3) }
  }

  @Test func missingTrainerIs69AndAFailedJob() throws {
    let bed = try JobTestbed(
      policy: "version: 1\ntools:\n  start_finetune_job:\n    rules: [{rate_limit: 1/hour}]\n")
    let result = try bed.run(
      ["job", "start", "--base-model", "tiny-vla", "--dataset", "sample", "--json"],
      trainer: "/nonexistent/vlatune-trainer --x")
    #expect(result.status == 69)
    let error = try #require(try result.json()["error"] as? [String: Any])
    #expect(error["code"] as? String == "resource_unavailable")
    #expect((error["message"] as? String)?.contains("No such file or directory") == true)
    let jobs = try #require(try bed.vlatune.run(["job", "list", "--json"]).json()["jobs"] as? [[String: Any]])
    #expect(jobs.count == 1)
    #expect(jobs.first?["state"] as? String == "failed")
    #expect((jobs.first?["error"] as? [String: Any])?["code"] as? String == "spawn_failed")
    // A job that never started gives its rate-limit slot back: the next start is admitted.
    let retry = try bed.run(["job", "start", "--base-model", "tiny-vla", "--dataset", "sample", "--quiet"])
    #expect(retry.status == 0, "\(retry.standardError)")
  }

  @Test func cancelStopsTheTrainerWithACheckpoint() throws {
    let bed = try JobTestbed()
    let id = try bed.start(trainer: JobTestbed.trainer("ok", steps: 100_000, stepSeconds: 0.02))
    let running = try bed.waitFor(id, "a few steps") { (($0["progress"] as? [String: Any])?["step"] as? Int ?? 0) >= 3 }
    let processes = try #require(running["processes"] as? [String: Any])
    let trainer = try #require(processes["trainer_pid"] as? Int)
    let watcher = try #require(processes["watcher_pid"] as? Int)
    let cancel = try bed.vlatune.run(["job", "cancel", id, "--grace", "10", "--reason", "test", "--json"])
    #expect(cancel.status == 0)
    let document = try cancel.json()
    #expect(document["state"] as? String == "cancelled")
    #expect((document["cancellation"] as? [String: Any])?["reason"] as? String == "test")
    let checkpoints = try #require(document["checkpoints"] as? [[String: Any]])
    let last = try #require(checkpoints.last)
    #expect(FileManager.default.fileExists(atPath: (last["path"] as! String) + "/state.json"))
    try waitUntil("the trainer and watcher to exit", timeout: 10) {
      !processIsAlive(trainer) && !processIsAlive(watcher)
    }
    // Cancelling again, in a terminal state, is a no-op that succeeds.
    let again = try bed.vlatune.run(["job", "cancel", id, "--json"])
    #expect(again.status == 0)
    #expect(try again.json()["state"] as? String == "cancelled")
    let wait = try bed.vlatune.run(["job", "wait", id])
    #expect(wait.status == 103)
  }

  @Test func trainerIgnoringSIGTERMIsKilledAfterTheGrace() throws {
    let bed = try JobTestbed()
    let id = try bed.start(trainer: JobTestbed.trainer("ignore-term", steps: 10, stepSeconds: 0.02))
    // Progress comes after the trainer has set SIGTERM to be ignored; `running` alone can be
    // seen before Python gets there, and a cancel that early kills it with the SIGTERM.
    try bed.waitFor(id, "the trainer reports progress") { $0["progress"] is [String: Any] }
    let started = Date()
    let cancel = try bed.vlatune.run(["job", "cancel", id, "--grace", "1", "--json"])
    let elapsed = Date().timeIntervalSince(started)
    let document = try cancel.json()
    #expect(document["state"] as? String == "cancelled")
    #expect(document["signal"] as? Int == 9)
    #expect(elapsed >= 1.0)
  }

  @Test func killingTheWatcherMakesTheJobLostAndTheTrainerGone() throws {
    let bed = try JobTestbed()
    let id = try bed.start(trainer: JobTestbed.trainer("ok", steps: 100_000))
    let running = try bed.waitForState(id, ["running"])
    let processes = try #require(running["processes"] as? [String: Any])
    let watcher = try #require(processes["watcher_pid"] as? Int)
    let trainer = try #require(processes["trainer_pid"] as? Int)
    kill(Int32(watcher), SIGKILL)
    try waitUntil("the watcher to die", timeout: 10) { !processIsAlive(watcher) }
    let lost = try bed.status(id)
    #expect(lost["state"] as? String == "lost")
    #expect((lost["error"] as? [String: Any])?["code"] as? String == "watcher_lost")
    try waitUntil("the trainer to die with its watcher", timeout: 10) { !processIsAlive(trainer) }
    #expect(try bed.vlatune.run(["job", "wait", id]).status == 100)
  }

  @Test func killingTheTrainerFailsTheJobWithSignal9() throws {
    let bed = try JobTestbed()
    let id = try bed.start(trainer: JobTestbed.trainer("ok", steps: 100_000))
    let running = try bed.waitForState(id, ["running"])
    let trainer = try #require((running["processes"] as? [String: Any])?["trainer_pid"] as? Int)
    kill(Int32(trainer), SIGKILL)
    let final = try bed.waitForState(id, ["failed", "succeeded", "lost"])
    #expect(final["state"] as? String == "failed")
    #expect(final["signal"] as? Int == 9)
    #expect((final["error"] as? [String: Any])?["code"] as? String == "signal")
  }

  @Test func concurrentCancelsBothSucceedAndOneTransitionHappens() throws {
    let bed = try JobTestbed()
    let id = try bed.start(trainer: JobTestbed.trainer("ok", steps: 100_000))
    try bed.waitForState(id, ["running"])
    let first = try bed.vlatune.start(["job", "cancel", id, "--grace", "10"])
    let second = try bed.vlatune.start(["job", "cancel", id, "--grace", "10"])
    #expect(try first.wait(timeout: 60).status == 0)
    #expect(try second.wait(timeout: 60).status == 0)
    #expect(try bed.status(id)["state"] as? String == "cancelled")
    let events = try JobEvents.read(home: bed.vlatune.home, job: id)
    #expect(events.filter { $0 == "running→cancelling" }.count == 1)
    #expect(events.filter { $0.hasSuffix("→cancelled") }.count == 1)
  }

  @Test func cancelRacingCompletionEndsInExactlyOneTerminalState() throws {
    let bed = try JobTestbed()
    for attempt in 0..<4 {
      // The trainer finishes after about 10 × 20 ms; cancels land around the end.
      let id = try bed.start(trainer: JobTestbed.trainer("ok", steps: 10, stepSeconds: 0.02))
      try bed.waitFor(id, "near the end") {
        (($0["progress"] as? [String: Any])?["step"] as? Int ?? 0) >= 7 + attempt % 3
          || ($0["state"] as? String) == "succeeded"
      }
      let cancel = try bed.vlatune.run(["job", "cancel", id, "--grace", "5", "--json"])
      #expect(cancel.status == 0)
      let final = try bed.waitForState(id, ["succeeded", "cancelled", "failed", "lost"])
      #expect(["succeeded", "cancelled"].contains(final["state"] as? String))
      let events = try JobEvents.read(home: bed.vlatune.home, job: id)
      let terminal = events.filter {
        ["succeeded", "failed", "cancelled", "lost"].contains(String($0.split(separator: "→").last ?? ""))
      }
      #expect(terminal.count == 1, "\(events)")
    }
  }

  @Test func losingEveryProcessMarksAllActiveJobsLost() throws {
    let bed = try JobTestbed(policy: "version: 1\nlimits: {max_running_jobs: 4}\n")
    var pids: [Int] = []
    var ids: [String] = []
    for _ in 0..<3 {
      let id = try bed.start(trainer: JobTestbed.trainer("ok", steps: 100_000))
      let running = try bed.waitForState(id, ["running"])
      let processes = try #require(running["processes"] as? [String: Any])
      pids += [processes["watcher_pid"] as! Int, processes["trainer_pid"] as! Int]
      ids.append(id)
    }
    for pid in pids { kill(Int32(pid), SIGKILL) }
    try waitUntil("every process to die", timeout: 10) { pids.allSatisfy { !processIsAlive($0) } }
    let list = try bed.vlatune.run(["job", "list", "--json"])
    let jobs = try #require(try list.json()["jobs"] as? [[String: Any]])
    #expect(jobs.count == 3)
    #expect(jobs.allSatisfy { $0["state"] as? String == "lost" })
  }

  @Test func badReferencesAndDatasets() throws {
    let bed = try JobTestbed()
    let unknown = try bed.vlatune.run(["job", "status", "job_nope", "--json"])
    #expect(unknown.status == 66)
    _ = try bed.start()
    _ = try bed.start()
    let ambiguous = try bed.vlatune.run(["job", "status", "job_"])
    #expect(ambiguous.status == 64)
    #expect(ambiguous.standardError.contains("matches more than one job"))

    let badState = try bed.vlatune.run(["job", "list", "--state", "done", "--json"])
    #expect(badState.status == 64)
    #expect(
      (try badState.json()["error"] as? [String: Any])?["message"] as? String
        == "invalid value for state: must be one of queued, starting, running, cancelling, "
        + "succeeded, failed, cancelled, lost, got 'done'")
    let noDataset = try bed.run(["job", "start", "--base-model", "tiny-vla", "--dataset", "ds_zzzz"])
    #expect(noDataset.status == 66)
    let badModel = try bed.run(["job", "start", "--base-model", "/nonexistent", "--dataset", "sample", "--json"])
    #expect(badModel.status == 64)
    #expect((try badModel.json()["error"] as? [String: Any])?["param"] as? String == "base_model")
    let badRank = try bed.run([
      "job", "start", "--base-model", "tiny-vla", "--dataset", "sample", "--lora-rank", "0", "--lora-dropout", "1",
    ])
    #expect(badRank.status == 64)
    #expect(
      badRank.standardError.contains("lora_rank (--lora-rank) must be in [1, 1024], got 0")
        && badRank.standardError.contains("lora_dropout (--lora-dropout) must be in [0, 1), got 1"))
    let tooManyGPUs = try bed.run(
      ["job", "start", "--base-model", "tiny-vla", "--dataset", "sample", "--gpus", "2"],
      extra: ["VLATUNE_GPU_COUNT": "1"])
    #expect(tooManyGPUs.status == 69)

    // A damaged package is refused before anything starts.
    let show = try bed.vlatune.run(["dataset", "show", "sample", "--json"]).json()
    let shard = (show["shards"] as! [[String: Any]])[0]["path"] as! String
    let handle = try #require(FileHandle(forUpdatingAtPath: (show["path"] as! String) + "/" + shard))
    try handle.truncate(atOffset: 1000)
    try handle.close()
    let damaged = try bed.run(["job", "start", "--base-model", "tiny-vla", "--dataset", "sample"])
    #expect(damaged.status == 65)
  }

  @Test func datasetsInUseCannotBeRemovedOrOverwritten() throws {
    let bed = try JobTestbed()
    let id = try bed.start(trainer: JobTestbed.trainer("ok", steps: 100_000))
    try bed.waitForState(id, ["running"])
    let remove = try bed.vlatune.run(["dataset", "rm", "sample", "--json"])
    #expect(remove.status == 73)
    #expect((try remove.json()["error"] as? [String: Any])?["message"] as? String != nil)
    #expect(remove.standardError.contains(id))
    let source = try SampleData.copy(into: bed.directory.url, name: "replacement")
    let overwrite = try bed.vlatune.run(["dataset", "prepare", source.path, "--name", "sample", "--overwrite"])
    #expect(overwrite.status == 73)
    #expect(try bed.vlatune.run(["dataset", "verify", "sample"]).status == 0)
    _ = try bed.vlatune.run(["job", "cancel", id, "--grace", "5"])
    #expect(try bed.vlatune.run(["dataset", "rm", "sample"]).status == 0)
  }

  @Test func garbageEventsAreSkippedAndCounted() throws {
    let bed = try JobTestbed()
    let result = try bed.run(
      ["job", "start", "--base-model", "tiny-vla", "--dataset", "sample", "--wait", "--json"],
      trainer: JobTestbed.trainer("garbage"))
    #expect(result.status == 0, "\(result.standardError)")
    let document = try result.json()
    #expect(document["state"] as? String == "succeeded")
    #expect(document["malformed_events"] as? Int == 4)
  }

  @Test func waitTimesOutWith101() throws {
    let bed = try JobTestbed()
    let id = try bed.start(trainer: JobTestbed.trainer("ok", steps: 100_000))
    let wait = try bed.vlatune.run(["job", "wait", id, "--timeout", "0.3"])
    #expect(wait.status == 101)
    _ = try bed.vlatune.run(["job", "cancel", id, "--grace", "5"])
  }

  @Test func jobsQueueForGPUSlots() throws {
    let bed = try JobTestbed()
    let gpu = ["VLATUNE_GPU_COUNT": "1"]
    let first = try bed.start(
      trainer: JobTestbed.trainer("ok", steps: 100_000), arguments: ["--gpus", "1"], extra: gpu)
    try bed.waitForState(first, ["running"])
    let second = try bed.start(
      trainer: JobTestbed.trainer("ok", steps: 3), arguments: ["--gpus", "1"], extra: gpu)
    let queued = try bed.status(second)
    #expect(queued["state"] as? String == "queued")
    #expect((queued["queue_reason"] as? String)?.contains("GPU") == true)
    _ = try bed.vlatune.run(["job", "cancel", first, "--grace", "5"])
    let done = try bed.waitForState(second, ["succeeded", "failed"])
    #expect(done["state"] as? String == "succeeded")
    let jobDir = try #require(done["job_dir"] as? String)
    let env =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: jobDir + "/trainer-env.json"))) as! [String: String]
    #expect(env["CUDA_VISIBLE_DEVICES"] == "0")
  }

  @Test func runningJobsAreCappedByThePolicyAndTheRestQueue() throws {
    let bed = try JobTestbed()  // built-in policy: max_running_jobs 2
    let first = try bed.start(trainer: JobTestbed.trainer("ok", steps: 100_000))
    let second = try bed.start(trainer: JobTestbed.trainer("ok", steps: 100_000))
    try bed.waitForState(first, ["running"])
    try bed.waitForState(second, ["running"])
    let third = try bed.start(trainer: JobTestbed.trainer("ok", steps: 2))
    let queued = try bed.status(third)
    #expect(queued["state"] as? String == "queued")
    #expect((queued["queue_reason"] as? String)?.contains("max_running_jobs 2") == true)
    _ = try bed.vlatune.run(["job", "cancel", first, "--grace", "5"])
    #expect(try bed.waitForState(third, ["succeeded", "failed"])["state"] as? String == "succeeded")
    _ = try bed.vlatune.run(["job", "cancel", second, "--grace", "5"])
  }

  @Test func queuedJobCancelsAtOnce() throws {
    let bed = try JobTestbed()
    let gpu = ["VLATUNE_GPU_COUNT": "1"]
    let first = try bed.start(
      trainer: JobTestbed.trainer("ok", steps: 100_000), arguments: ["--gpus", "1"], extra: gpu)
    try bed.waitForState(first, ["running"])
    let second = try bed.start(trainer: JobTestbed.trainer(), arguments: ["--gpus", "1"], extra: gpu)
    let cancel = try bed.vlatune.run(["job", "cancel", second, "--json"])
    #expect(try cancel.json()["state"] as? String == "cancelled")
    _ = try bed.vlatune.run(["job", "cancel", first, "--grace", "5"])
  }
}

/// Reads `job_events` transitions of a job as `from→to` strings, with the sqlite3 CLI-free
/// route: through `vlatune`'s own database via Python's sqlite3 module.
enum JobEvents {
  static func read(home: URL, job: String) throws -> [String] {
    let script = """
      import sqlite3, sys
      db = sqlite3.connect(sys.argv[1])
      for a, b in db.execute("SELECT from_state, to_state FROM job_events WHERE job_id = ? ORDER BY id", (sys.argv[2],)):
          print(f"{a or ''}→{b}")
      """
    let result = try ProcessRunner.run(
      TestPaths.python!, ["-c", script, home.appendingPathComponent("vlatune.db").path, job])
    return result.standardOutput.split(separator: "\n").map(String.init)
  }
}
