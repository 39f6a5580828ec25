import Foundation
import Testing
import VlatuneTestSupport

/// Whether a Slurm cluster answers (`SLURM_CONF` set and `sinfo` works); `.ci/run` starts one on
/// localhost (scripts/slurm-local.sh) and sets `VLATUNE_REQUIRE_SLURM=1`, so in CI these tests
/// run or fail, never skip.
enum SlurmCluster {
  static var available: Bool {
    guard ProcessInfo.processInfo.environment["SLURM_CONF"] != nil,
      let sinfo = ["/usr/bin/sinfo", "/usr/local/bin/sinfo"].first(where: {
        FileManager.default.isExecutableFile(atPath: $0)
      }),
      let result = try? ProcessRunner.run(sinfo, ["-h"], timeout: 30)
    else { return false }
    return result.status == 0
  }

  static var required: Bool { ProcessInfo.processInfo.environment["VLATUNE_REQUIRE_SLURM"] == "1" }

  /// `squeue`'s state for a Slurm job id.
  static func state(_ id: String) throws -> String {
    let result = try ProcessRunner.run("/usr/bin/squeue", ["-h", "-t", "all", "-j", id, "-o", "%T"], timeout: 30)
    return result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
  }
}

@Suite struct SlurmAvailability {
  @Test func slurmIsUpWhereCIRequiresIt() {
    if SlurmCluster.required {
      #expect(SlurmCluster.available, "VLATUNE_REQUIRE_SLURM=1 but no Slurm cluster answers (SLURM_CONF, sinfo)")
    }
  }
}

/// `--executor slurm` against a real slurmctld/slurmd: sbatch submission, state from squeue,
/// scancel, the real trainer inside the allocation, and torchrun with two processes.
@Suite(.enabled(if: SlurmCluster.available && ReferenceTrainer.available), .serialized)
struct SlurmExecutorCLITests {
  static func bed() throws -> JobTestbed {
    let bed = try JobTestbed(environment: ["VLATUNE_PYTHON": TestPaths.python!])
    bed.vlatune.environment["VLATUNE_TRAINER"] = nil
    return bed
  }

  static let start = [
    "job", "start", "--base-model", "tiny-vla", "--dataset", "sample", "--executor", "slurm",
    "--gpus", "0", "--batch-size", "8", "--lora-rank", "4", "--json",
  ]

  @Test func tinyVLAFineTuneSucceedsThroughSlurm() throws {
    let bed = try Self.bed()
    let result = try bed.vlatune.run(Self.start + ["--max-steps", "6", "--checkpoint-interval", "3"])
    #expect(result.status == 0, "\(result.standardError)")
    let started = try result.json()
    let id = try #require(started["id"] as? String)
    let native = try #require(started["native_id"] as? String)
    #expect(started["executor"] as? String == "slurm")
    #expect(Int(native) != nil)
    let done = try bed.waitForState(id, ["succeeded", "failed", "lost", "cancelled"], timeout: 600)
    #expect(done["state"] as? String == "succeeded", "\(done["error"] ?? "")")
    #expect((done["checkpoints"] as? [[String: Any]])?.compactMap { $0["step"] as? Int } == [3, 6])
    let output = try #require(done["output"] as? [String: Any])
    #expect(FileManager.default.fileExists(atPath: (output["adapter"] as! String) + "/adapter_model.safetensors"))
    let jobDir = try #require(done["job_dir"] as? String)
    let script = try String(contentsOfFile: jobDir + "/job.sbatch", encoding: .utf8)
    #expect(script.contains("#SBATCH --signal=B:TERM@120"))
    #expect(script.contains("job __watch \(id) --in-allocation"))
    #expect(FileManager.default.fileExists(atPath: jobDir + "/slurm-\(native).out"))
    try waitUntil("Slurm reports job \(native) COMPLETED", timeout: 60) {
      try SlurmCluster.state(native) == "COMPLETED"
    }
  }

  @Test func cancelMidRunLeavesACheckpointAndEndsTheSlurmJob() throws {
    let bed = try Self.bed()
    let result = try bed.vlatune.run(
      Self.start + ["--max-steps", "100000", "--checkpoint-interval", "100000"])
    #expect(result.status == 0, "\(result.standardError)")
    let started = try result.json()
    let id = try #require(started["id"] as? String)
    let native = try #require(started["native_id"] as? String)
    try bed.waitFor(id, "training has made progress", timeout: 300) {
      (($0["progress"] as? [String: Any])?["step"] as? Int ?? 0) >= 2
    }
    let cancel = try bed.vlatune.run(["job", "cancel", id, "--grace", "60", "--json"], timeout: 120)
    #expect(cancel.status == 0, "\(cancel.standardError)")
    let document = try cancel.json()
    #expect(document["state"] as? String == "cancelled")
    let checkpoints = document["checkpoints"] as? [[String: Any]] ?? []
    #expect(!checkpoints.isEmpty, "SIGTERM inside the allocation must leave a checkpoint")
    try waitUntil("Slurm job \(native) has ended", timeout: 60) {
      ["COMPLETED", "CANCELLED", "FAILED"].contains(try SlurmCluster.state(native))
    }
    let again = try bed.vlatune.run(["job", "cancel", id, "--json"])
    #expect(again.status == 0, "cancel is idempotent")
    #expect(try again.json()["state"] as? String == "cancelled")

    // `job resume` submits a new Slurm job for the same vlatune job, from the SIGTERM checkpoint.
    let stop = try #require(checkpoints.compactMap { $0["step"] as? Int }.max())
    let resumed = try bed.vlatune.run(["job", "resume", id, "--max-steps", "\(stop + 2)", "--json"], timeout: 120)
    #expect(resumed.status == 0, "\(resumed.standardError)")
    let second = try resumed.json()
    let secondNative = try #require(second["native_id"] as? String)
    #expect(secondNative != native && second["attempt"] as? Int == 2)
    let done = try bed.waitForState(id, ["succeeded", "failed", "lost", "cancelled"], timeout: 600)
    #expect(done["state"] as? String == "succeeded", "\(done["error"] ?? "")")
    #expect((done["progress"] as? [String: Any])?["step"] as? Int == stop + 2)
    #expect((done["attempts"] as? [[String: Any]])?.first?["from_step"] as? Int == stop)
  }

  @Test func aFailingTrainerIsAFailedJob() throws {
    let bed = try Self.bed()
    var runner = bed.vlatune
    runner.environment["VLATUNE_TRAINER"] = JobTestbed.trainer("fail", steps: 2, stepSeconds: 0)
    let result = try runner.run(Self.start + ["--max-steps", "2"])
    #expect(result.status == 0, "\(result.standardError)")
    let id = try #require(try result.json()["id"] as? String)
    let done = try bed.waitForState(id, ["succeeded", "failed", "lost", "cancelled"], timeout: 300)
    #expect(done["state"] as? String == "failed")
    #expect(done["exit_code"] as? Int == 3)
  }

  @Test func twoTrainingProcessesRunUnderTorchrun() throws {
    let bed = try Self.bed()
    let result = try bed.vlatune.run(Self.start + ["--max-steps", "4", "--processes", "2"])
    #expect(result.status == 0, "\(result.standardError)")
    let id = try #require(try result.json()["id"] as? String)
    let done = try bed.waitForState(id, ["succeeded", "failed", "lost", "cancelled"], timeout: 600)
    let logs = try bed.vlatune.run(["job", "logs", id])
    #expect(done["state"] as? String == "succeeded", "\(logs.standardOutput.suffix(2000))")
    #expect(logs.standardOutput.contains("distributed: 2 processes (gloo)"))
    let jobDir = try #require(done["job_dir"] as? String)
    let spec = try String(contentsOfFile: jobDir + "/spec.json", encoding: .utf8)
    #expect(spec.contains("torch.distributed.run") && spec.contains("--nproc_per_node=2"))
  }

  @Test func slurmsRefusalIsTheErrorAndNothingRuns() throws {
    let bed = try Self.bed()
    let result = try bed.vlatune.run(Self.start + ["--max-steps", "2", "--slurm-partition", "no-such-partition"])
    #expect(result.status == 64)
    let error = try #require(try result.json()["error"] as? [String: Any])
    let message = try #require(error["message"] as? String)
    #expect(message.contains("Slurm refused") && message.lowercased().contains("partition"))
    let list = try bed.vlatune.run(["job", "list", "--json"])
    let jobs = try #require(try list.json()["jobs"] as? [[String: Any]])
    #expect(jobs.count == 1 && jobs[0]["state"] as? String == "failed")
  }

  @Test func aPendingJobShowsSlurmsReasonAndCancelsInSlurm() throws {
    let bed = try Self.bed()
    try "extra_sbatch: [\"--begin=now+3600\"]\n".write(
      to: bed.vlatune.home.appendingPathComponent("slurm.yaml"), atomically: true, encoding: .utf8)
    let result = try bed.vlatune.run(Self.start + ["--max-steps", "2"])
    #expect(result.status == 0, "\(result.standardError)")
    let started = try result.json()
    let id = try #require(started["id"] as? String)
    let native = try #require(started["native_id"] as? String)
    let pending = try bed.waitFor(id, "Slurm's pending reason", timeout: 60) {
      ($0["queue_reason"] as? String ?? "").contains("PENDING")
    }
    #expect(pending["state"] as? String == "queued")
    let cancel = try bed.vlatune.run(["job", "cancel", id, "--json"])
    #expect(try cancel.json()["state"] as? String == "cancelled")
    try waitUntil("Slurm cancelled job \(native)", timeout: 60) { try SlurmCluster.state(native) == "CANCELLED" }
  }
}
