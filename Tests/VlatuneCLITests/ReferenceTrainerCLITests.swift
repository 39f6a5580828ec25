import Foundation
import Testing
import VlatuneTestSupport

/// Whether the project's Python has the reference trainer and the tiny-vla base exists.
enum ReferenceTrainer {
  static var base: URL {
    TestPaths.repository.appendingPathComponent("trainer/vlatune_trainer/assets/tiny-vla/model.safetensors")
  }

  static var available: Bool {
    guard let python = TestPaths.python, FileManager.default.fileExists(atPath: base.path) else {
      return false
    }
    let probe = try? ProcessRunner.run(python, ["-c", "import vlatune_trainer, torch, peft"], timeout: 120)
    return probe?.status == 0
  }
}

/// `vlatune job start` with the real reference trainer (PyTorch + PEFT) on the built-in tiny-vla.
@Suite(.enabled(if: ReferenceTrainer.available), .serialized)
struct ReferenceTrainerCLITests {

  @Test func tinyVLAFineTuneSucceedsAndWritesTheAdapter() throws {
    let bed = try JobTestbed(environment: ["VLATUNE_PYTHON": TestPaths.python!])
    var runner = bed.vlatune
    runner.environment["VLATUNE_TRAINER"] = nil
    let result = try runner.run(
      [
        "job", "start", "--base-model", "tiny-vla", "--dataset", "sample", "--max-steps", "6",
        "--batch-size", "8", "--lora-rank", "4", "--checkpoint-interval", "3", "--gpus", "0",
        "--name", "sample-job", "--wait", "--json",
      ], timeout: 600)
    #expect(result.status == 0, "\(result.standardError)")
    let document = try result.json()
    #expect(document["state"] as? String == "succeeded", "\(document["error"] ?? "")")
    #expect((document["checkpoints"] as? [[String: Any]])?.compactMap { $0["step"] as? Int } == [3, 6])
    let output = try #require(document["output"] as? [String: Any])
    let adapter = try #require(output["adapter"] as? String)
    #expect(FileManager.default.fileExists(atPath: adapter + "/adapter_model.safetensors"))
    #expect(FileManager.default.fileExists(atPath: adapter + "/adapter_config.json"))
    #expect(FileManager.default.fileExists(atPath: output["dataset_statistics"] as! String))
    #expect((document["eval"] as? [String: Double])?["val_l1"] != nil)

    // `vlatune predict JOB`: cameras by name, the state's length, files that exist.
    let episode = bed.directory.appending("pick-blocks/episode_000")
    let front = episode.appendingPathComponent("front/000001.jpg").path
    let wrist = episode.appendingPathComponent("wrist/000001.jpg").path
    let state = ["--state", "0.1,0.5,1.0,0,0,0,0.04,0.04", "--instruction", "pick up the red block"]
    let predicted = try runner.run(
      ["predict", "sample-job", "--image", "wrist=\(wrist)", "--image", "front=\(front)"] + state)
    #expect(predicted.status == 0, "\(predicted.standardError)")
    let actions = try #require(try predicted.json()["actions"] as? [[Double]])
    #expect(actions.count == 4 && actions.allSatisfy { $0.count == 7 && $0.allSatisfy(\.isFinite) })
    // The order of --image does not matter; the names do.
    let swapped = try runner.run(
      ["predict", "sample-job", "--image", "front=\(front)", "--image", "wrist=\(wrist)"] + state)
    #expect(try swapped.json()["actions"] as? [[Double]] == actions)
    let typo = try runner.run(
      ["predict", "sample-job", "--image", "wrist=\(wrist)", "--image", "frnt=\(front)"] + state)
    #expect(typo.status == 64)
    #expect(typo.standardError.contains("unknown camera 'frnt': the adapter was trained on cameras front, wrist"))
    let missing = try runner.run(["predict", "sample-job", "--image", "front=\(front)"] + state)
    #expect(missing.status == 64 && missing.standardError.contains("missing --image wrist=PATH"))
    let short = try runner.run(
      [
        "predict", "sample-job", "--image", "front=\(front)", "--image", "wrist=\(wrist)", "--state", "1,2",
        "--instruction", "x",
      ])
    #expect(short.status == 64 && short.standardError.contains("--state needs 8 comma-separated values"))
    let absent = try runner.run(
      ["predict", "sample-job", "--image", "front=/nonexistent.jpg", "--image", "wrist=\(wrist)"] + state)
    #expect(absent.status == 66 && absent.standardError.contains("no such file"))
    let notImage = try runner.run(
      ["predict", "sample-job", "--image", "front=\(episode.path)/meta.json", "--image", "wrist=\(wrist)"] + state)
    #expect(
      notImage.status == 65 && notImage.standardError.contains("is not a readable image"), "\(notImage.standardError)")
    #expect(!(typo.standardError + missing.standardError + notImage.standardError).contains("Traceback"))
    let direct = try ProcessRunner.run(
      TestPaths.python!,
      [
        "-m", "vlatune_trainer.predict", "--adapter", bed.directory.path, "--image", "front=\(front)", "--instruction",
        "x",
      ])
    #expect(direct.status == 66 && direct.standardError.contains("is not a vlatune adapter directory"))
  }

  /// The researcher's loop on the real trainer: cancel mid-run, `job resume`, and the resumed
  /// job's loss curve matches an uninterrupted run of the same seed step by step.
  @Test func cancelledJobResumesOnTheUninterruptedLossCurve() throws {
    let bed = try JobTestbed(environment: ["VLATUNE_PYTHON": TestPaths.python!])
    var runner = bed.vlatune
    runner.environment["VLATUNE_TRAINER"] = nil
    let common = [
      "job", "start", "--base-model", "tiny-vla", "--dataset", "sample", "--max-steps", "80",
      "--batch-size", "8", "--lora-rank", "4", "--checkpoint-interval", "40", "--seed", "11",
      "--gpus", "0", "--data-workers", "0",
    ]
    let whole = try runner.run(common + ["--name", "whole", "--wait", "--quiet"], timeout: 600)
    #expect(whole.status == 0, "\(whole.standardError)")
    let cut = try runner.run(common + ["--name", "cut", "--quiet"], timeout: 600)
    #expect(cut.status == 0, "\(cut.standardError)")
    let id = cut.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    try bed.waitFor(id, "step 5", timeout: 300) {
      (($0["progress"] as? [String: Any])?["step"] as? Int ?? 0) >= 5 || ($0["state"] as? String) != "running"
    }
    let cancel = try runner.run(["job", "cancel", id, "--json"], timeout: 120)
    let cancelled = try cancel.json()
    #expect(cancelled["state"] as? String == "cancelled", "\(cancelled)")
    let stop = try #require((cancelled["checkpoints"] as? [[String: Any]])?.compactMap { $0["step"] as? Int }.max())
    #expect(stop < 80)

    let resumed = try runner.run(["job", "resume", id, "--wait", "--json"], timeout: 600)
    #expect(resumed.status == 0, "\(resumed.standardError)")
    let document = try resumed.json()
    #expect(document["state"] as? String == "succeeded", "\(document["error"] ?? "")")
    #expect(document["attempt"] as? Int == 2)
    #expect((document["attempts"] as? [[String: Any]])?.count == 1)

    func losses(_ job: String) throws -> [Int: (loss: Double, attempt: Int)] {
      let history = try runner.run(["job", "metrics", job, "--json"]).json()
      var byStep: [Int: (Double, Int)] = [:]
      for row in history["progress"] as? [[String: Any]] ?? [] {
        if let step = row["step"] as? Int, let loss = row["loss"] as? Double {
          byStep[step] = (loss, row["attempt"] as? Int ?? 0)
        }
      }
      return byStep
    }
    let reference = try losses("whole")
    let continued = try losses(id)
    let after = continued.filter { $0.value.attempt == 2 }.keys.sorted()
    #expect(after.first == stop + 1 && after.last == 80, "\(after)")
    #expect(Set(continued.keys).isSuperset(of: Set(1...80).subtracting([stop])))
    for (step, value) in continued {
      let expected = try #require(reference[step]?.loss, "step \(step) missing from the uninterrupted run")
      #expect(abs(value.loss - expected) <= 0.01 * abs(expected), "step \(step): \(value.loss) vs \(expected)")
    }

    // TensorBoard event files for `tensorboard --logdir $VLATUNE_HOME/jobs`.
    let jobDir = try #require(document["job_dir"] as? String)
    let tensorboard = (try? FileManager.default.contentsOfDirectory(atPath: jobDir + "/tb")) ?? []
    #expect(tensorboard.filter { $0.hasPrefix("events.out.tfevents.") }.count == 2, "\(tensorboard)")

    // init_from: a new job starts from this job's adapter weights.
    let warm = try runner.run(
      [
        "job", "start", "--from", id, "--init-from", "\(id):80", "--max-steps", "2", "--name", "warm", "--wait",
        "--quiet",
      ],
      timeout: 600)
    #expect(warm.status == 0, "\(warm.standardError)")
    let logs = try runner.run(["job", "logs", "warm"])
    #expect(logs.standardOutput.contains("adapter weights initialised from"), "\(logs.standardOutput)")
    #expect(logs.standardOutput.contains("step 2/2 loss "))
  }
}
