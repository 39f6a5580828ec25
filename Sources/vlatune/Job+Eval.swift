import ArgumentParser
import Foundation
import VlatuneCore

extension JobCommand {
  /// `vlatune job eval JOB`: the CLI face of the `evaluate_policy` tool.
  struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "eval",
      abstract: "Evaluate a job's adapter closed-loop in simulation, as a job of its own.",
      discussion: """
        Rolls the policy out in a simulator task (Meta-World) from seeded variations no
        demonstration used, with action chunking as it was trained, and records the success rate
        with its 95 % interval, the mean episode length, every episode and a few videos. The
        evaluation is a detached, cancellable job admitted by the policy as evaluate_policy;
        'job status' of the trained job shows its latest evaluation. docs/eval.md.
        """)

    static func help(_ name: String) -> ArgumentHelp {
      ArgumentHelp(EvalParameters.table[name]?.help ?? "")
    }

    @Argument(help: help("job")) var job: String
    @Option(parsing: .unconditional, help: help("adapter")) var adapter: String?
    @Option(parsing: .unconditional, help: help("env")) var env: String?
    @Option(parsing: .unconditional, help: help("task")) var task: String
    @Option(parsing: .unconditional, help: help("episodes")) var episodes: String?
    @Option(parsing: .unconditional, help: help("max_steps")) var maxSteps: String?
    @Option(parsing: .unconditional, help: help("seed")) var seed: String?
    @Option(parsing: .unconditional, help: help("action_horizon")) var actionHorizon: String?
    @Option(parsing: .unconditional, help: help("image_size")) var imageSize: String?
    @Option(parsing: .unconditional, help: help("videos")) var videos: String?
    @Option(parsing: .unconditional, help: help("gpus")) var gpus: String?
    @Option(parsing: .unconditional, help: help("name")) var name: String?
    @Option(help: "A label key=value stored with the job (repeatable; at most 16).") var metadata: [String] = []
    @Option(parsing: .unconditional, help: help("idempotency_key")) var idempotencyKey: String?
    @OptionGroup var actor: ActorOptions
    @OptionGroup var policy: PolicyOptions
    @Flag(help: "Block until the evaluation ends; exit 0 / 100 failed or lost / 103 cancelled.") var wait = false
    @Flag(help: "Print the job document as JSON.") var json = false
    @Flag(help: "Print only the job id.") var quiet = false

    func run() throws {
      let environment = ProcessInfo.processInfo.environment
      let context = try VlatuneContext.open(environment: environment)
      var raw: [String: String] = ["job": job, "task": task]
      let given: [(String, String?)] = [
        ("adapter", adapter), ("env", env), ("episodes", episodes), ("max_steps", maxSteps), ("seed", seed),
        ("action_horizon", actionHorizon), ("image_size", imageSize), ("videos", videos), ("gpus", gpus),
        ("name", name), ("idempotency_key", idempotencyKey),
      ]
      for case (let key, let value?) in given { raw[key] = value }
      var arguments = EvalParameters.table.fromCommandLine(raw)
      if let labels = try JobStartOptions.metadataValue(metadata) { arguments["metadata"] = labels }
      let evaluator = JobEvaluator(
        context: context, policy: try policy.resolved(context), watcherExecutable: ProcessSpawner.currentExecutable)
      let document = try evaluator.evaluate(arguments, actor: actor.resolved(environment))
      try JobReply.print(
        document, context: context, wait: wait, json: json, quiet: quiet, waiting: "\(document.id) evaluating")
    }
  }
}
