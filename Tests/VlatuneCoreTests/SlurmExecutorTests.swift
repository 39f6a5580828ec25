import Foundation
import Testing

@testable import VlatuneArchive
@testable import VlatuneCore
@testable import VlatuneDatasets
@testable import VlatuneFormats
@testable import VlatuneGuardrails
@testable import VlatuneJobs
@testable import VlatuneStore
@testable import VlatuneSupport

/// The Slurm executor's pure parts: state parsing from each command, the state mapping, the
/// batch script and the torchrun command.
struct SlurmExecutorTests {
  @Test func parsesSqueueJSON() {
    let text = """
      {"jobs": [{"job_id": 7, "job_state": "PENDING", "state_reason": "BeginTime", "exit_code": 0},
                {"job_id": 8, "job_state": "COMPLETED", "state_reason": "None", "exit_code": 0}]}
      """
    #expect(SlurmClient.parseSqueue(text, id: "7") == .init(state: "PENDING", reason: "BeginTime", exitCode: 0))
    #expect(SlurmClient.parseSqueue(text, id: "8") == .init(state: "COMPLETED", reason: nil, exitCode: 0))
    #expect(SlurmClient.parseSqueue(text, id: "9") == nil)
    #expect(SlurmClient.parseSqueue("not json", id: "7") == nil)
  }

  @Test func parsesScontrolAndSacct() {
    let line = "JobId=12 JobName=x JobState=TIMEOUT Reason=TimeLimit Dependency=(null) ExitCode=0:15"
    #expect(SlurmClient.parseScontrol(line) == .init(state: "TIMEOUT", reason: "TimeLimit", exitCode: 0))
    #expect(SlurmClient.parseSacct("CANCELLED by 0|0:15|None\n") == .init(state: "CANCELLED", reason: nil, exitCode: 0))
    #expect(
      SlurmClient.parseSacct("FAILED|3:0|NonZeroExitCode")
        == .init(state: "FAILED", reason: "NonZeroExitCode", exitCode: 3))
    #expect(SlurmClient.parseSacct("") == nil)
  }

  @Test(
    arguments: [
      ("PENDING", JobState.queued, nil), ("RUNNING", .running, nil), ("COMPLETING", .running, nil),
      ("COMPLETED", .succeeded, nil), ("CANCELLED", .cancelled, nil), ("FAILED", .failed, "slurm_failed"),
      ("TIMEOUT", .failed, "slurm_timeout"), ("OUT_OF_MEMORY", .failed, "oom"),
      ("NODE_FAIL", .failed, "slurm_node_fail"), ("PREEMPTED", .failed, "slurm_preempted"),
    ] as [(String, JobState, String?)])
  func mapsSlurmStates(_ slurm: String, _ state: JobState, _ code: String?) {
    let mapped = SlurmStateMapping.map(slurm)
    #expect(mapped.state == state)
    #expect(mapped.errorCode == code)
  }

  @Test func rendersTheBatchScriptFromTheSpec() throws {
    var spec = try JSONDecoder().decode(JobSpec.self, from: Data(MemoryEstimateTests.specJSON.utf8))
    spec.gpus = 2
    spec.distributed = .init(nodes: 2, processesPerNode: 2)
    spec.slurm = SlurmSettings(
      partition: "gpu", account: "lab", qos: "high", timeLimitMinutes: 90, memory: "64G", signalSeconds: 300,
      extraSbatch: ["--constraint=a100"])
    let script = SlurmScript.render(spec: spec, vlatune: "/opt/vlatune's/bin/vlatune", home: "/shared/vt")
    for line in [
      "#SBATCH --gres=gpu:2", "#SBATCH --nodes=2", "#SBATCH --partition=gpu", "#SBATCH --account=lab",
      "#SBATCH --qos=high", "#SBATCH --time=90", "#SBATCH --mem=64G", "#SBATCH --signal=B:TERM@300",
      "#SBATCH --constraint=a100", "#SBATCH --output=/j/slurm-%j.out",
      "export VLATUNE_HOME='/shared/vt'",
      "exec '/opt/vlatune'\\''s/bin/vlatune' job __watch job_x --in-allocation",
    ] {
      #expect(script.contains(line + "\n"), "\(line)")
    }
    #expect(script.hasPrefix("#!/bin/bash\n"))
  }

  @Test func torchrunWrapsOnlyThePythonTrainer() {
    let python = ["/v/bin/python", "-m", "vlatune_trainer"]
    #expect(DistributedLaunch.argv(python, nodes: 1, processes: 1, jobID: "j") == python)
    #expect(
      DistributedLaunch.argv(python, nodes: 1, processes: 2, jobID: "j")
        == [
          "/v/bin/python", "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone", "-m", "vlatune_trainer",
        ])
    let multi = DistributedLaunch.argv(python, nodes: 2, processes: 4, jobID: "j")
    #expect(multi.prefix(3) == ["srun", "--ntasks-per-node=1", "--kill-on-bad-exit=1"])
    #expect(multi.contains("--nnodes=2") && multi.contains("--rdzv_endpoint={head_node}:29400"))
    #expect(DistributedLaunch.argv(["fake", "--x"], nodes: 1, processes: 2, jobID: "j") == ["fake", "--x"])
  }
}
