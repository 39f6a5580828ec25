import ArgumentParser
import Foundation
import VlatuneCore

extension JobCommand {
  /// `vlatune job show-config JOB`: the job's parameters as a run file.
  struct ShowConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "show-config",
      abstract: "Print a job's parameters as a run file for 'vlatune job start --config FILE'.",
      discussion: """
        Every parameter as it was resolved at start (the dataset as its id, the drawn seed, the
        GPUs and executor chosen), so the same run starts again from this one file.
        """)

    @Argument(help: "Job id, unique id prefix, or name.") var job: String
    @OptionGroup var guardOptions: GuardOptions

    func run() throws {
      let context = try VlatuneContext.open(environment: ProcessInfo.processInfo.environment)
      try guardOptions.admit("get_finetune_job", ["job": .string(job)], reference: job, context: context)
      let (document, parameters) = try JobControl(context: context).parameters(job)
      let header =
        "vlatune run file of \(document.id)\(document.name.map { " (\($0))" } ?? ""), attempt \(document.attempt)\n"
        + "start the same run with: vlatune job start --config FILE [--name NAME] [overrides]"
      Output.standardOutput(RunFile.render(parameters, header: header))
    }
  }
}
