import Foundation
import Testing
import VlatuneTestSupport

/// `job resume`, `job metrics`, `job show-config` and `job start --from/--config` against the
/// built binary, with the fake trainer standing in for the GPU work (it checkpoints and resumes
/// as the real one does; the loss-curve comparison runs the real trainer, in
/// ``ReferenceTrainerCLITests``).
@Suite(.enabled(if: TestPaths.hasPython), .serialized)
struct JobResumeCLITests {
  static let start = ["job", "start", "--base-model", "tiny-vla", "--dataset", "sample"]
  /// The fake trainer at the spec's max_steps, slow enough to cancel mid-run.
  static let slow = JobTestbed.trainer("ok", steps: 0, stepSeconds: 0.05, evals: true)

  @Test func cancelledJobResumesAsTheSameJobWithANewAttempt() throws {
    let bed = try JobTestbed()
    let id = try bed.start(trainer: Self.slow, arguments: ["--max-steps", "40", "--name", "cut"])
    try bed.waitFor(id, "step 6") { (($0["progress"] as? [String: Any])?["step"] as? Int ?? 0) >= 6 }

    // Still running: refused, so a retried resume never runs an attempt twice.
    let early = try bed.run(["job", "resume", id, "--json"], trainer: Self.slow)
    #expect(early.status == 64)
    #expect(early.standardOutput.contains("only a job that has ended can be resumed"), "\(early.standardOutput)")

    let cancel = try bed.vlatune.run(["job", "cancel", id, "--json"])
    #expect(cancel.status == 0)
    let cancelled = try cancel.json()
    #expect(cancelled["state"] as? String == "cancelled")
    let stop = try #require((cancelled["checkpoints"] as? [[String: Any]])?.compactMap { $0["step"] as? Int }.max())
    #expect(stop >= 6 && stop < 40)

    let short = try bed.run(["job", "resume", id, "--max-steps", "\(stop)"], trainer: Self.slow)
    #expect(short.status == 64)
    #expect(short.standardError.contains("must be more than the checkpoint's step \(stop)"), "\(short.standardError)")
    let missing = try bed.run(["job", "resume", id, "--checkpoint", "999"], trainer: Self.slow)
    #expect(missing.status == 64)
    #expect(missing.standardError.contains("no complete checkpoint at step 999"), "\(missing.standardError)")
    let nonsense = try bed.run(["job", "resume", id, "--checkpoint", "newest"], trainer: Self.slow)
    #expect(nonsense.status == 64)
    #expect(nonsense.standardError.contains("must be last, best or a step number"))

    let resumed = try bed.run(["job", "resume", "cut", "--wait", "--json"], trainer: Self.slow)
    #expect(resumed.status == 0, "\(resumed.standardError)")
    let document = try resumed.json()
    #expect(document["id"] as? String == id)
    #expect(document["state"] as? String == "succeeded")
    #expect(document["attempt"] as? Int == 2)
    let attempts = try #require(document["attempts"] as? [[String: Any]])
    #expect(attempts.count == 1)
    #expect(attempts.first?["from_step"] as? Int == stop)
    #expect(attempts.first?["previous_state"] as? String == "cancelled")
    #expect(attempts.first?["max_steps"] as? Int == 40)
    #expect((document["progress"] as? [String: Any])?["step"] as? Int == 40)
    #expect(document["error"] is NSNull && document["cancellation"] is NSNull)

    // One series across the attempts: every step once, the first attempt's up to the cut.
    let metrics = try bed.vlatune.run(["job", "metrics", id, "--json"])
    #expect(metrics.status == 0, "\(metrics.standardError)")
    let history = try metrics.json()
    let progress = try #require(history["progress"] as? [[String: Any]])
    let steps = progress.compactMap { $0["step"] as? Int }
    #expect(steps == Array(1...40))
    #expect(progress.allSatisfy { ($0["attempt"] as? Int) == (($0["step"] as! Int) <= stop ? 1 : 2) })
    #expect(progress.allSatisfy { $0["grad_norm"] as? Double == 0.5 && $0["loss"] is Double })
    let best = try #require(history["best_eval"] as? [String: Any])
    #expect(best["step"] as? Int == 10 && best["val_l1"] as? Double == 0.05)
    let status = try bed.vlatune.run(["job", "status", id])
    #expect(status.standardOutput.contains("attempt     2, resumed from step \(stop) after cancelled"))
    #expect(status.standardOutput.contains("best eval   val_l1 0.05 at step 10"), "\(status.standardOutput)")

    let csv = try bed.vlatune.run(["job", "metrics", id, "--csv"])
    let rows = csv.standardOutput.split(separator: "\n")
    #expect(rows.first == "kind,step,attempt,time,loss,learning_rate,grad_norm,samples_per_second,val_l1,val_loss")
    let evals = try #require(history["eval"] as? [[String: Any]])
    #expect(rows.count == 1 + progress.count + evals.count)
    #expect(rows.contains { $0.hasPrefix("progress,40,2,") })

    // The audit log records the resume (job_events: ResumeRefundTests).
    let audit = try String(contentsOf: bed.vlatune.home.appendingPathComponent("audit.jsonl"), encoding: .utf8)
    let resumeLines = audit.split(separator: "\n").filter { $0.contains("\"resume_finetune_job\"") }
    #expect(resumeLines.contains { $0.contains("\"allowed\"") && $0.contains("\"started\"") })
    #expect(resumeLines.contains { $0.contains("\"refused\"") && $0.contains("invalid_argument") })

    // A succeeded job trains on with more steps, from its best checkpoint.
    let more = try bed.run(
      ["job", "resume", id, "--checkpoint", "best", "--max-steps", "45", "--wait", "--json"], trainer: Self.slow)
    #expect(more.status == 0, "\(more.standardError)")
    let third = try more.json()
    #expect(third["attempt"] as? Int == 3)
    #expect((third["attempts"] as? [[String: Any]])?.last?["from_step"] as? Int == 10)
    #expect((third["hyperparameters"] as? [String: Any])?["max_steps"] as? Int == 45)
    let after = try bed.vlatune.run(["job", "metrics", id, "--json"]).json()
    let series = try #require(after["progress"] as? [[String: Any]])
    #expect(series.compactMap { $0["step"] as? Int } == Array(1...45))
    #expect(series.filter { ($0["step"] as! Int) > 10 }.allSatisfy { $0["attempt"] as? Int == 3 })

    // Back to the best step and a shorter run: the abandoned continuation's checkpoints (15…45)
    // leave the job's list, so `last` is this attempt's end.
    let shorter = try bed.run(
      ["job", "resume", id, "--checkpoint", "best", "--max-steps", "12", "--wait", "--json"], trainer: Self.slow)
    #expect(shorter.status == 0, "\(shorter.standardError)")
    let fourth = try shorter.json()
    #expect((fourth["checkpoints"] as? [[String: Any]])?.compactMap { $0["step"] as? Int } == [5, 10, 12])
    let series4 = try #require(
      try bed.vlatune.run(["job", "metrics", id, "--json"]).json()["progress"] as? [[String: Any]])
    #expect(series4.compactMap { $0["step"] as? Int } == Array(1...12))
    let again = try bed.run(["job", "resume", id, "--max-steps", "12"], trainer: Self.slow)
    #expect(again.status == 64)
    #expect(again.standardError.contains("checkpoint's step 12"), "\(again.standardError)")
  }

  @Test func jobWithoutACheckpointCannotResume() throws {
    let bed = try JobTestbed()
    let failed = try bed.run(Self.start + ["--wait", "--json"], trainer: JobTestbed.trainer("fail"))
    #expect(failed.status == 100)
    let id = try #require(try failed.json()["id"] as? String)
    let result = try bed.run(["job", "resume", id], trainer: JobTestbed.trainer())
    #expect(result.status == 64)
    #expect(result.standardError.contains("has no complete checkpoint to resume from"), "\(result.standardError)")
    #expect(result.standardError.contains("job start --from \(id)"))
    #expect(try bed.vlatune.run(["job", "resume", "job_nosuch"]).status == 66)
  }

  @Test func resumeIsGuardedLikeAStart() throws {
    // A policy that allows one start an hour allows no resume after it: a resume is a start.
    let limited = try JobTestbed(
      policy: "version: 1\ntools:\n  start_finetune_job:\n    rules: [{rate_limit: 1/hour}]\n"
        + "  resume_finetune_job:\n    rules: [{action: allow}]\n")
    let trainer = JobTestbed.trainer("ok", steps: 0, stepSeconds: 0)
    let done = try limited.run(Self.start + ["--max-steps", "5", "--wait", "--quiet"], trainer: trainer)
    #expect(done.status == 0, "\(done.standardError)")
    let id = done.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    let refused = try limited.run(["job", "resume", id, "--max-steps", "8", "--json"], trainer: trainer)
    #expect(refused.status == 75, "\(refused.standardOutput)")
    #expect((try refused.json()["error"] as? [String: Any])?["code"] as? String == "rate_limited")
    // Refused: the job is untouched.
    let unchanged = try limited.status(id)
    #expect(unchanged["state"] as? String == "succeeded" && unchanged["attempt"] as? Int == 1)

    let denied = try JobTestbed(
      policy: "version: 1\ntools:\n  start_finetune_job:\n    rules: [{action: allow}]\n"
        + "  resume_finetune_job:\n    rules: [{action: deny, reason: no resumes here}]\n")
    let other = try denied.run(Self.start + ["--max-steps", "5", "--wait", "--quiet"], trainer: trainer)
    let otherID = other.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    let deny = try denied.run(["job", "resume", otherID, "--max-steps", "8"], trainer: trainer)
    #expect(deny.status == 77)
    #expect(deny.standardError.contains("no resumes here"))

    // The GPU-hour budget counts the steps a resume adds.
    let budget = try JobTestbed(
      environment: ["VLATUNE_GPU_COUNT": "1"],
      policy: "version: 1\nlimits: {gpu_hours_per_day: 3, step_seconds: 3600}\n")
    let gpuJob = try budget.run(
      Self.start + ["--gpus", "1", "--max-steps", "2", "--wait", "--quiet"], trainer: trainer)
    #expect(gpuJob.status == 0, "\(gpuJob.standardError)")
    let gpuID = gpuJob.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    let over = try budget.run(["job", "resume", gpuID, "--max-steps", "4", "--json"], trainer: trainer)
    #expect(over.status == 75, "\(over.standardOutput)")
    #expect((try over.json()["error"] as? [String: Any])?["code"] as? String == "budget_exhausted")
    let within = try budget.run(["job", "resume", gpuID, "--max-steps", "3", "--wait", "--json"], trainer: trainer)
    #expect(within.status == 0, "\(within.standardOutput)")
    #expect(try within.json()["attempt"] as? Int == 2)
    // That resume used the last hour: nothing more today.
    let none = try budget.run(Self.start + ["--gpus", "1", "--max-steps", "1"], trainer: trainer)
    #expect(none.status == 75)
  }

  @Test func forkAndRunFileStartTheSameRun() throws {
    let bed = try JobTestbed()
    let trainer = JobTestbed.trainer("ok", steps: 0, stepSeconds: 0)
    let first = try bed.run(
      Self.start + [
        "--max-steps", "6", "--lora-rank", "4", "--seed", "5", "--name", "origin",
        "--metadata", "arm=left", "--wait", "--json",
      ], trainer: trainer)
    #expect(first.status == 0, "\(first.standardError)")
    let origin = try first.json()
    let id = try #require(origin["id"] as? String)

    let fork = try bed.run(["job", "start", "--from", "origin", "--max-steps", "7", "--json"], trainer: trainer)
    #expect(fork.status == 0, "\(fork.standardError)")
    let forked = try fork.json()
    let hyper = try #require(forked["hyperparameters"] as? [String: Any])
    #expect(hyper["lora_rank"] as? Int == 4 && hyper["seed"] as? Int == 5 && hyper["max_steps"] as? Int == 7)
    #expect(hyper["lora_alpha"] as? Int == 16)
    #expect(forked["name"] is NSNull && forked["id"] as? String != id)

    // show-config writes a run file that starts the same run; flags override it.
    let config = try bed.vlatune.run(["job", "show-config", id])
    #expect(config.status == 0)
    #expect(config.standardOutput.contains("lora_rank: 4\n") && config.standardOutput.contains("# name: \"origin\""))
    let file = bed.directory.appending("run.yaml")
    try config.standardOutput.write(to: file, atomically: true, encoding: .utf8)
    let rerun = try bed.run(
      ["job", "start", "--config", file.path, "--name", "again", "--lora-alpha", "8", "--dry-run", "--json"],
      trainer: trainer)
    #expect(rerun.status == 0, "\(rerun.standardError)")
    let report = try rerun.json()
    let parameters = try #require(report["parameters"] as? [String: Any])
    #expect(parameters["lora_rank"] as? Int == 4 && parameters["seed"] as? Int == 5)
    #expect(parameters["max_steps"] as? Int == 6 && parameters["lora_alpha"] as? Int == 8)
    #expect(parameters["metadata"] as? [String: String] == ["arm": "left"])
    #expect(parameters["name"] as? String == "again")

    let bad = bed.directory.appending("bad.yaml")
    try "max_steps: 5\nlora_rnak: 4\nmetadata: [a]\n".write(to: bad, atomically: true, encoding: .utf8)
    let refused = try bed.run(["job", "start", "--config", bad.path], trainer: trainer)
    #expect(refused.status == 64)
    #expect(
      refused.standardError.contains("bad.yaml line 2: unknown parameter 'lora_rnak'"), "\(refused.standardError)")
    #expect(refused.standardError.contains("bad.yaml line 3: metadata (--metadata) takes"))
    #expect(try bed.run(["job", "start", "--config", "/nonexistent/run.yaml"], trainer: trainer).status == 66)
    let unknown = try bed.run(["job", "start", "--from", "no-such-job"], trainer: trainer)
    #expect(unknown.status == 66 && unknown.standardError.contains("from (--from) names the job to start from"))

    // init_from: the adapter must fit.
    let misfit = try bed.run(
      ["job", "start", "--from", "origin", "--init-from", "origin:5", "--lora-rank", "8"], trainer: trainer)
    #expect(misfit.status == 64)
    #expect(misfit.standardError.contains("lora_rank 4 (this job: 8)"), "\(misfit.standardError)")
    let noStep = try bed.run(["job", "start", "--from", "origin", "--init-from", "origin:4"], trainer: trainer)
    #expect(noStep.status == 64)
    #expect(noStep.standardError.contains("has no checkpoint at step 4; it has steps 5, 6"), "\(noStep.standardError)")
    let fits = try bed.run(
      ["job", "start", "--from", "origin", "--init-from", "origin:5", "--dry-run", "--json"], trainer: trainer)
    #expect(fits.status == 0, "\(fits.standardError)")
    let spec = try #require(try fits.json()["spec"] as? [String: Any])
    #expect((spec["init_adapter"] as? String)?.hasSuffix("checkpoints/step-0000005") == true)

    // Cancelling a finished job says so.
    let cancel = try bed.vlatune.run(["job", "cancel", id])
    #expect(cancel.status == 0)
    #expect(cancel.standardError.contains("already succeeded; nothing to cancel"))
  }
}
