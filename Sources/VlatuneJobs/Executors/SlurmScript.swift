import Foundation
import VlatuneSupport

/// Renders the batch script for a job: resources from the spec, the warning signal before the
/// time limit, output into the job directory, and the same watcher/trainer protocol inside the
/// allocation (`vlatune job __watch ID --in-allocation`). Kept as `jobs/<id>/job.sbatch`.
public enum SlurmScript {
  /// The script text.
  ///
  /// - Parameters:
  ///   - spec: The resolved spec (`slurm` settings, GPUs, nodes, processes).
  ///   - vlatune: The `vlatune` binary the allocation runs.
  ///   - home: The state directory (shared with the compute nodes).
  public static func render(spec: JobSpec, vlatune: String, home: String) -> String {
    let settings = spec.slurm ?? SlurmSettings()
    let nodes = spec.distributed?.nodes ?? 1
    let processes = spec.distributed?.processesPerNode ?? 1
    var options = [
      "--job-name=vlatune-\(spec.jobId)",
      "--output=\(spec.jobDir)/slurm-%j.out",
      "--chdir=\(spec.jobDir)",
      "--nodes=\(nodes)",
      "--ntasks-per-node=1",
      "--cpus-per-task=\(max(processes, 1))",
      "--signal=B:TERM@\(settings.signalSeconds)",
    ]
    if spec.gpus > 0 { options.append("--gres=gpu:\(spec.gpus)") }
    if let partition = settings.partition { options.append("--partition=\(partition)") }
    if let account = settings.account { options.append("--account=\(account)") }
    if let qos = settings.qos { options.append("--qos=\(qos)") }
    if let minutes = settings.timeLimitMinutes { options.append("--time=\(minutes)") }
    if let memory = settings.memory { options.append("--mem=\(memory)") }
    options += settings.extraSbatch
    var lines = ["#!/bin/bash", "# vlatune job \(spec.jobId): rendered from jobs/\(spec.jobId)/spec.json"]
    lines += options.map { "#SBATCH \($0)" }
    lines += [
      "export VLATUNE_HOME=\(shellQuoted(home))",
      "exec \(shellQuoted(vlatune)) job __watch \(spec.jobId) --in-allocation",
    ]
    return lines.joined(separator: "\n") + "\n"
  }

  /// Single-quoted for bash.
  static func shellQuoted(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }
}
