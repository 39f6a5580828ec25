import ArgumentParser
import Foundation
import VlatuneCore

/// `vlatune predict JOB`: the un-normalized action chunk a job's adapter predicts for one
/// observation (a `get_finetune_job` call for the policy), by the trainer environment's
/// `python -m vlatune_trainer.predict`.
struct PredictCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "predict",
    abstract: "Predict an action chunk with a job's adapter for one observation (JSON on stdout).",
    discussion: """
      Cameras are matched by name against the cameras the adapter was trained on (a missing, \\
      unknown or repeated camera is refused, 64), and --state must have the dataset's state \\
      length. Exit 66 when the job has no adapter yet or an image file is missing.
      """)

  @Argument(help: "Job id, unique id prefix, or name.") var job: String
  @Option(help: "final (output/adapter, default) or best (output/best, the lowest val_l1).") var adapter = "final"
  @Option(help: "CAMERA=PATH, one per camera the adapter was trained on (repeatable).") var image: [String] = []
  @Option(help: "The language instruction.") var instruction: String
  @Option(parsing: .unconditional, help: "Comma-separated state values (the dataset's state).") var state: String?
  @OptionGroup var guardOptions: GuardOptions

  func run() throws {
    let context = try VlatuneContext.open(environment: ProcessInfo.processInfo.environment)
    try guardOptions.admit("get_finetune_job", ["job": .string(job)], reference: job, context: context)
    let (python, directory) = try JobControl(context: context).predictTarget(job, which: adapter, home: context.home)
    var arguments = ["-m", "vlatune_trainer.predict", "--adapter", directory, "--instruction", instruction]
    for item in image { arguments += ["--image", item] }
    if let state { arguments += ["--state", state] }
    let argv = ([python] + arguments).map { strdup($0) } + [nil]
    execvp(python, argv)
    throw VlatuneError.resourceUnavailable(
      message:
        "cannot start \(python): \(String(cString: strerror(errno))); install the trainer environment (make venv)")
  }
}
