import ArgumentParser
import Foundation
import VlatuneCore

extension JobCommand {
  /// `vlatune job resume JOB`: the CLI face of the `resume_finetune_job` tool.
  struct Resume: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "resume",
      abstract: "Continue a job that has ended from one of its checkpoints, as a new attempt.",
      discussion: """
        The job (cancelled, failed, lost or succeeded) continues as the same id from a complete
        checkpoint — its adapter, optimizer, schedule, RNG and data position — so its loss curve
        carries on. A resume is admitted like a start: the policy's rules for resume_finetune_job
        and start_finetune_job, the job caps and the GPU-hour budget for the steps left.
        """)

    static func help(_ name: String) -> ArgumentHelp {
      ArgumentHelp(ResumeParameters.table[name]?.help ?? "")
    }

    @Argument(help: "Job id, unique id prefix, or name.") var job: String
    @Option(parsing: .unconditional, help: help("checkpoint")) var checkpoint: String?
    @Option(parsing: .unconditional, help: help("max_steps")) var maxSteps: String?
    @OptionGroup var actor: ActorOptions
    @OptionGroup var policy: PolicyOptions
    @Flag(help: "Block until the job ends; exit 0 / 100 failed or lost / 103 cancelled.") var wait = false
    @Flag(help: "Print the job document as JSON.") var json = false

    func run() throws {
      let environment = ProcessInfo.processInfo.environment
      let context = try VlatuneContext.open(environment: environment)
      var raw: [String: String] = ["job": job]
      if let checkpoint { raw["checkpoint"] = checkpoint }
      if let maxSteps { raw["max_steps"] = maxSteps }
      let resumer = JobResumer(
        context: context, policy: try policy.resolved(context), watcherExecutable: ProcessSpawner.currentExecutable)
      let document = try resumer.resume(
        ResumeParameters.table.fromCommandLine(raw), actor: actor.resolved(environment))
      try JobReply.print(
        document, context: context, wait: wait, json: json, quiet: false,
        waiting: "\(document.id) resumed (attempt \(document.attempt))")
    }
  }
}
