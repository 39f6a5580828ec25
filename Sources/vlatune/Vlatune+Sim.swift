import ArgumentParser
import Foundation
import VlatuneCore

/// `vlatune sim`: simulators for demonstrations and closed-loop evaluation, run by the trainer
/// environment's `python -m vlatune_trainer.sim` (docs/eval.md).
struct SimCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sim",
    abstract: "Scripted-expert demonstrations and expert baselines from a simulator (Meta-World).",
    subcommands: [Demos.self, Expert.self, Envs.self])

  /// The options a simulator run takes.
  struct SimOptions: ParsableArguments {
    @Option(help: "The simulator.") var env = "metaworld"
    @Option(help: "Task name (several separated by commas for a language-conditioned set).") var task: String
    @Option(help: "Episodes to run.") var episodes: Int
    @Option(help: "Square frame size, pixels.") var imageSize = 96
    @Option(help: "Cameras to render, comma-separated (default: the simulator's default camera).") var cameras: String?
    @Option(help: "Seed: episode i runs variation seed × 100000 + i (evaluations use another range).")
    var seed = 0
    @Option(help: "Actions per episode at most.") var maxSteps = 150

    var arguments: [String] {
      var list = [
        "--env", env, "--task", task, "--episodes", "\(episodes)", "--image-size", "\(imageSize)", "--seed", "\(seed)",
        "--max-steps", "\(maxSteps)",
      ]
      if let cameras { list += ["--cameras", cameras] }
      return list
    }
  }

  /// Runs the trainer environment's simulator module in place of this process.
  static func exec(_ arguments: [String]) throws -> Never {
    let environment = ProcessInfo.processInfo.environment
    let home = VlatuneHome.resolve(environment: environment)
    let python = TrainerCommand.python(environment: environment, home: home)
    let argv = ([python, "-m", "vlatune_trainer.sim"] + arguments).map { strdup($0) } + [nil]
    execvp(python, argv)
    throw VlatuneError.resourceUnavailable(
      message:
        "cannot start \(python): \(String(cString: strerror(errno))); install the trainer environment (make venv)")
  }

  /// `vlatune sim demos`.
  struct Demos: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write scripted-expert demonstrations in the episodes format (successful episodes only).",
      discussion: """
        The summary (JSON on stdout) says how many episodes were kept and dropped; 'vlatune \\
        dataset prepare OUT' takes the directory as any dataset.
        """)
    @OptionGroup var options: SimOptions
    @Option(help: "Output directory (must not exist).") var out: String

    func run() throws { try SimCommand.exec(["demos"] + options.arguments + ["--out", out]) }
  }

  /// `vlatune sim expert`.
  struct Expert: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "The scripted expert's success rate on the evaluation seeds (JSON), the ceiling of job eval.")
    @OptionGroup var options: SimOptions

    func run() throws { try SimCommand.exec(["expert"] + options.arguments) }
  }

  /// `vlatune sim envs`.
  struct Envs: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Simulators, their tasks and cameras (JSON).")

    func run() throws { try SimCommand.exec(["envs"]) }
  }
}
