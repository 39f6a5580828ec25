import Foundation
import Testing
import VlatuneTestSupport

/// `vlatune job eval` end to end with the real reference trainer and Meta-World (rendered
/// headless by Mesa): demonstrations from `vlatune sim demos`, a short tiny-vla fine-tune, then
/// evaluation jobs — their machinery and the shape of their numbers, not a success rate.
@Suite(.enabled(if: ReferenceTrainer.available), .serialized)
struct EvaluationCLITests {
  static let task = "button-press-topdown-v3"

  /// A testbed whose `sim` dataset holds 3 Meta-World demonstrations and a finished 4-step
  /// fine-tune of tiny-vla on them (`trained`).
  static func trainedBed(policy: String? = nil) throws -> (JobTestbed, VlatuneRunner) {
    let bed = try JobTestbed(environment: ["VLATUNE_PYTHON": TestPaths.python!], policy: policy)
    var runner = bed.vlatune
    runner.environment["VLATUNE_TRAINER"] = nil
    let demos = bed.directory.appending("demos")
    let made = try runner.run(
      [
        "sim", "demos", "--task", task, "--episodes", "3", "--image-size", "64", "--cameras", "topview",
        "--out", demos.path,
      ], timeout: 600)
    #expect(made.status == 0, "\(made.standardError)")
    let summary = try made.json()
    #expect(summary["episodes_written"] as? Int == 3, "\(summary)")
    let prepared = try runner.run(["dataset", "prepare", demos.path, "--name", "sim", "--quiet"])
    #expect(prepared.status == 0, "\(prepared.standardError)")
    let trained = try runner.run(
      [
        "job", "start", "--base-model", "tiny-vla", "--dataset", "sim", "--max-steps", "4", "--batch-size", "8",
        "--lora-rank", "4", "--checkpoint-interval", "2", "--gpus", "0", "--seed", "3", "--name", "trained",
        "--wait", "--quiet",
      ], timeout: 600)
    #expect(trained.status == 0, "\(trained.standardError)")
    return (bed, runner)
  }

  @Test func anEvaluationJobRecordsEpisodesSuccessRateAndVideos() throws {
    let (bed, runner) = try Self.trainedBed(policy: "tools:\n  evaluate_policy:\n    rules: [{rate_limit: 3/minute}]\n")
    let result = try runner.run(
      [
        "job", "eval", "trained", "--task", Self.task, "--episodes", "2", "--max-steps", "12", "--image-size", "64",
        "--videos", "1", "--name", "short-eval", "--wait", "--json",
      ], timeout: 600)
    #expect(result.status == 0, "\(result.standardError)")
    let document = try result.json()
    #expect(document["state"] as? String == "succeeded", "\(document["error"] ?? "")")
    #expect(document["kind"] as? String == "eval")
    let evaluation = try #require(document["evaluation"] as? [String: Any])
    #expect(evaluation["episodes"] as? Int == 2 && evaluation["episodes_done"] as? Int == 2)
    #expect(evaluation["env"] as? String == "metaworld" && evaluation["task"] as? String == Self.task)
    #expect(evaluation["checkpoint"] as? String == "final" && evaluation["seed"] as? Int == 0)
    let rate = try #require(evaluation["success_rate"] as? Double)
    let interval = try #require(evaluation["ci95"] as? [Double])
    #expect((0...1).contains(rate) && interval.count == 2 && interval[0] <= rate && rate <= interval[1])
    #expect((1...12).contains(evaluation["mean_episode_length"] as? Double ?? 0))
    let progress = try #require(document["progress"] as? [String: Any])
    #expect(progress["step"] as? Int == 2 && progress["total_steps"] as? Int == 2)

    // Every episode with its seed (the evaluation range, never a demonstration's), and a video.
    let results = try #require(evaluation["results"] as? String)
    let file = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: results))) as! [String: Any]
    let episodes = try #require(file["results"] as? [[String: Any]])
    #expect(episodes.compactMap { $0["seed"] as? Int } == [1_000_000_000, 1_000_000_001])
    #expect(file["complete"] as? Bool == true && file["action_horizon"] as? Int == 4)
    let videos = try #require(evaluation["videos"] as? [String])
    #expect(videos.count == 1)
    let size = (try? FileManager.default.attributesOfItem(atPath: videos[0])[.size] as? Int) ?? 0
    #expect(videos[0].hasSuffix(".mp4") && size > 1000, "\(videos)")

    // The trained job shows its latest evaluation; evaluations are not sources of training.
    let trained = try bed.status("trained")
    let latest = try #require(trained["evaluation"] as? [String: Any])
    #expect(latest["job_id"] as? String == document["id"] as? String)
    #expect(trained["kind"] as? String == "train")
    let text = try runner.run(["job", "status", "trained"]).standardOutput
    #expect(text.contains("evaluated   metaworld/\(Self.task): success "), "\(text)")
    let resume = try runner.run(["job", "resume", "short-eval"])
    #expect(resume.status == 64 && resume.standardError.contains("is an evaluation job"), "\(resume.standardError)")
    let fork = try runner.run(["job", "start", "--from", "short-eval", "--max-steps", "2"])
    #expect(fork.status == 64 && fork.standardError.contains("is an evaluation job"), "\(fork.standardError)")
    // The untrained start is evaluated on the same seeds.
    let base = try runner.run(
      [
        "job", "eval", "trained", "--adapter", "base", "--task", Self.task, "--episodes", "1", "--max-steps", "5",
        "--image-size", "64", "--videos", "0", "--wait", "--json",
      ], timeout: 600)
    let baseDocument = try base.json()
    #expect(baseDocument["state"] as? String == "succeeded", "\(base.standardError)")
    #expect((baseDocument["evaluation"] as? [String: Any])?["checkpoint"] as? String == "base")
    // An adapter directory is evaluated as it is, and known as the trained job's.
    let adapter = try #require((trained["output"] as? [String: Any])?["adapter"] as? String)
    let byPath = try runner.run(
      ["job", "eval", adapter, "--task", Self.task, "--episodes", "1", "--max-steps", "3", "--wait", "--json"],
      timeout: 600)
    let pathEvaluation = try byPath.json()["evaluation"] as? [String: Any]
    #expect(pathEvaluation?["checkpoint"] as? String == "path", "\(byPath.standardError)")
    #expect(pathEvaluation?["source_job"] as? String == trained["id"] as? String)
    // Runs compare in one table: an evaluation's success, a trained job's latest.
    let table = try runner.run(["job", "list", "--columns", "name,kind,success,ci95"]).standardOutput
    let row = table.split(separator: "\n").first { $0.hasPrefix("short-eval") }.map(String.init) ?? ""
    #expect(row.contains(" eval ") && row.contains("["), "\(table)")
    // The untrained start's evaluation is not the trained job's latest.
    let after = try bed.status("trained")["evaluation"] as? [String: Any]
    #expect(after?["checkpoint"] as? String == "path")
    // The policy's rate limit for evaluate_policy (3 a minute here) holds; refusals and
    // admissions are audited under the tool's name.
    let third = try runner.run(["job", "eval", "trained", "--task", Self.task, "--episodes", "1"])
    #expect(third.status == 75 && third.standardError.contains("retry"), "\(third.standardError)")
    let audit = try String(contentsOf: bed.directory.appending("home/audit.jsonl"), encoding: .utf8)
    let decisions = audit.split(separator: "\n").filter { $0.contains("\"evaluate_policy\"") }
      .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
      .compactMap { $0["decision"] as? String }
    #expect(decisions == ["allowed", "allowed", "allowed", "refused"], "\(decisions)")
  }

  @Test func cancellingAnEvaluationKeepsTheFinishedEpisodes() throws {
    let (bed, runner) = try Self.trainedBed()
    let started = try runner.run(
      [
        "job", "eval", "trained", "--adapter", "base", "--task", Self.task, "--episodes", "200", "--max-steps",
        "15", "--videos", "0", "--quiet",
      ], timeout: 600)
    #expect(started.status == 0, "\(started.standardError)")
    let id = started.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    try bed.waitFor(id, "an episode done", timeout: 300) {
      (($0["evaluation"] as? [String: Any])?["episodes_done"] as? Int ?? 0) >= 1
        || ($0["state"] as? String) != "running"
    }
    let cancelled = try runner.run(["job", "cancel", id, "--json"], timeout: 120).json()
    #expect(cancelled["state"] as? String == "cancelled", "\(cancelled)")
    let evaluation = try #require(cancelled["evaluation"] as? [String: Any])
    let done = evaluation["episodes_done"] as? Int ?? 0
    #expect(done >= 1 && done < 200)
    let file =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: evaluation["results"] as! String))) as! [String: Any]
    #expect(file["complete"] as? Bool == false)
    // Without --image-size the simulator renders at the demonstrations' frame size.
    #expect(file["image_size"] as? Int == 64)
    #expect((file["results"] as? [Any])?.count ?? 0 >= done)
    // A cancelled evaluation is not the trained job's latest.
    #expect(try bed.status("trained")["evaluation"] is NSNull)
  }

  @Test func refusalsNameWhatExists() throws {
    let bed = try JobTestbed(environment: ["VLATUNE_PYTHON": TestPaths.python!])
    var runner = bed.vlatune
    runner.environment["VLATUNE_TRAINER"] = nil
    // A job trained on the sample dataset (cameras front and wrist, 7 action values).
    let sample = try runner.run(
      [
        "job", "start", "--base-model", "tiny-vla", "--dataset", "sample", "--max-steps", "2", "--batch-size", "4",
        "--lora-rank", "2", "--gpus", "0", "--name", "blocks", "--wait", "--quiet",
      ], timeout: 600)
    #expect(sample.status == 0, "\(sample.standardError)")
    func evaluate(_ extra: [String]) throws -> ProcessResult {
      try runner.run(["job", "eval", "blocks"] + extra, timeout: 120)
    }
    let task = try evaluate(["--task", "press-everything"])
    #expect(task.status == 64)
    #expect(task.standardError.contains("task (--task) 'press-everything' is not a metaworld task; tasks: "))
    #expect(task.standardError.contains(Self.task) && task.standardError.contains("pick-place-v3"))
    let env = try evaluate(["--env", "gym-aloha", "--task", "x"])
    #expect(env.status == 64 && env.standardError.contains("simulators: metaworld"), "\(env.standardError)")
    let cameras = try evaluate(["--task", Self.task])
    #expect(cameras.status == 64)
    #expect(cameras.standardError.contains("the adapter reads cameras front, wrist, which metaworld does not render"))
    #expect(cameras.standardError.contains("predicts 7 action values but metaworld takes 4"))
    let step = try evaluate(["--task", Self.task, "--adapter", "999"])
    #expect(step.status == 64 && step.standardError.contains("has no checkpoint at step 999"), "\(step.standardError)")
    let unknown = try runner.run(["job", "eval", "nosuchjob", "--task", Self.task])
    #expect(unknown.status == 66, "\(unknown.standardError)")
    let episodes = try evaluate(["--task", Self.task, "--episodes", "0"])
    #expect(episodes.status == 64 && episodes.standardError.contains("episodes (--episodes)"))
    // Nothing was admitted: no evaluation job exists.
    let list = try runner.run(["job", "list", "--json"]).json()
    #expect((list["jobs"] as? [[String: Any]])?.count == 1)
    // A policy that hides the tool refuses it before anything is looked at (77).
    let hidden = bed.directory.appending("hidden.yaml")
    try "version: 1\nhide: [evaluate_policy]\n".write(to: hidden, atomically: true, encoding: .utf8)
    var guarded = runner
    guarded.environment["VLATUNE_POLICY"] = hidden.path
    let refused = try guarded.run(["job", "eval", "blocks", "--task", Self.task])
    #expect(
      refused.status == 77 && refused.standardError.contains("evaluate_policy is hidden"), "\(refused.standardError)")
  }
}
