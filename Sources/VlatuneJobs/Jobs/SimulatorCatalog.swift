import Foundation
import VlatuneSupport

/// The simulators an evaluation can run, as the trainer environment that will run it lists them
/// (`python -m vlatune_trainer.sim envs`): the one place environments, tasks and cameras are
/// written is the trainer's `sim` package, so `job eval` refuses an unknown one before any job
/// exists and lists what there is.
struct SimulatorCatalog {
  /// One simulator.
  struct Simulator: Decodable {
    /// Task names and their instructions.
    var tasks: [String: String]
    /// Cameras a frame can come from.
    var cameras: [String]
    /// The action's length.
    var actionDim: Int
    /// The proprioceptive state's length.
    var stateDim: Int

    enum CodingKeys: String, CodingKey {
      case tasks, cameras
      case actionDim = "action_dim"
      case stateDim = "state_dim"
    }
  }

  /// The simulators by name.
  var simulators: [String: Simulator]

  /// Asks `python` for the list.
  ///
  /// - Throws: ``VlatuneError/resourceUnavailable(message:)`` when the trainer environment
  ///   cannot answer.
  static func load(python: String, environment: [String: String]) throws -> SimulatorCatalog {
    let result = try CommandRunner.run(
      python, ["-m", "vlatune_trainer.sim", "envs"], environment: TrainerCommand.environment(from: environment))
    guard result.status == 0,
      let simulators = try? JSONOutput.decode([String: Simulator].self, from: Data(result.output.utf8))
    else {
      let detail = result.error.split(separator: "\n").suffix(3).joined(separator: "\n")
      throw VlatuneError.resourceUnavailable(
        message: "the trainer environment (\(python)) cannot list its simulators: "
          + (detail.isEmpty ? "exit status \(result.status)" : detail)
          + "; 'make venv' installs it")
    }
    return SimulatorCatalog(simulators: simulators)
  }

  /// The simulator and task an evaluation asks for, refused (64) with what exists.
  func check(env: String, task: String) throws -> Simulator {
    guard let simulator = simulators[env] else {
      throw VlatuneError.invalidParameters([
        ParameterProblem(
          param: "env",
          message: "env (--env) '\(env)' is not a simulator vlatune can run; simulators: "
            + simulators.keys.sorted().joined(separator: ", "))
      ])
    }
    guard simulator.tasks[task] != nil else {
      throw VlatuneError.invalidParameters([
        ParameterProblem(
          param: "task",
          message: "task (--task) '\(task)' is not a \(env) task; tasks: "
            + simulator.tasks.keys.sorted().joined(separator: ", "))
      ])
    }
    return simulator
  }
}
