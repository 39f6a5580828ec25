import ArgumentParser
import Foundation
import VlatuneCore

extension JobCommand {
  /// `vlatune job start`: the CLI face of the `start_finetune_job` tool.
  struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "start",
      abstract: "Start a LoRA fine-tune in the background and print its id.",
      discussion: """
        Every value is checked against one parameter table (docs/parameters.md), then the \
        policy, rate limits, idempotency key, job caps and GPU-hour budget decide admission. \
        The job outlives this command; follow it with 'vlatune job status ID --watch'. \
        --from JOB starts with another job's parameters and --config FILE with a run file \
        ('vlatune job show-config'); flags given here override either.
        """)

    @OptionGroup(title: "Required") var required: RequiredStartOptions
    @OptionGroup(title: "Start from another job or a run file") var origin: OriginStartOptions
    @OptionGroup(title: "Data") var data: DataStartOptions
    @OptionGroup(title: "LoRA") var lora: LoRAStartOptions
    @OptionGroup(title: "Optimisation") var optimisation: OptimisationStartOptions
    @OptionGroup(title: "Resources") var resources: ResourceStartOptions
    @OptionGroup(title: "Slurm (executor slurm)") var slurm: SlurmStartOptions
    @OptionGroup(title: "Job") var job: JobStartOptions
    @OptionGroup var actor: ActorOptions
    @OptionGroup var policy: PolicyOptions
    @Flag(help: "Validate, resolve and evaluate policy and limits; start and consume nothing.")
    var dryRun = false
    @Flag(help: "Block until the job ends; exit 0 / 100 failed or lost / 103 cancelled.") var wait = false
    @Flag(help: "Print only the job id.") var quiet = false
    @Flag(help: "Print the job document as JSON.") var json = false

    /// The run file's values (`--config`) with the command line's over them.
    func parameters(_ environment: [String: String]) throws -> [String: JSONValue] {
      var values =
        try origin.config.map { try RunFile.read(path: ($0 as NSString).expandingTildeInPath) } ?? [:]
      for (name, value) in try rawParameters(environment) { values[name] = value }
      return values
    }

    /// The option groups, each listing its parameters by table name.
    var groups: [any StartOptionGroup] { [required, origin, data, lora, optimisation, resources, slurm, job] }

    /// The raw values given on the command line (and `$VLATUNE_IDEMPOTENCY_KEY`).
    func rawParameters(_ environment: [String: String]) throws -> [String: JSONValue] {
      var raw: [String: String] = [:]
      for group in groups {
        for (key, value) in group.values { if let value { raw[key] = value } }
      }
      if raw["idempotency_key"] == nil, let key = environment["VLATUNE_IDEMPOTENCY_KEY"] {
        raw["idempotency_key"] = key
      }
      var parameters = JobParameters.table.fromCommandLine(raw)
      for group in groups {
        for (key, value) in group.flags where value { parameters[key] = .bool(true) }
      }
      if let metadata = try job.metadataValue() { parameters["metadata"] = metadata }
      return parameters
    }

    func run() throws {
      let environment = ProcessInfo.processInfo.environment
      let context = try VlatuneContext.open(environment: environment)
      let launcher = JobLauncher(
        context: context, policy: try policy.resolved(context),
        watcherExecutable: ProcessSpawner.currentExecutable)
      let outcome = try launcher.start(
        parameters(environment), actor: actor.resolved(environment), dryRun: dryRun)
      guard let document = outcome.document else {
        if case .dryRun(let report) = outcome {
          if json { Output.json(report) } else { Output.standardOutput(JobText.dryRun(report)) }
          if !json, let memory = report.spec.memoryEstimate {
            let device = memory.gpuMemoryBytes.map { " (the GPU has \(ByteSize.format(Int64($0))))" } ?? ""
            Output.standardError(
              "memory estimate: \(memory.parameters) parameters, \(memory.trainableParameters) trainable, "
                + "peak \(ByteSize.format(Int64(memory.totalBytes)))\(report.spec.gpus > 0 ? " per GPU" : "")\(device)\n"
            )
          }
          if let refusal = report.refusal, refusal.code != "replay" {
            Output.standardError("a real start would be refused: \(TerminalText.escaped(refusal.message))\n")
            throw ExitCode(VlatuneErrorCodes.exitStatus(refusal.code))
          }
        }
        return
      }
      try JobReply.print(
        document, context: context, wait: wait, json: json, quiet: quiet, waiting: "\(document.id) started")
    }
  }
}

/// `--policy FILE`, resolved with `$VLATUNE_POLICY`, `$VLATUNE_HOME/policy.yaml`, the built-in.
struct PolicyOptions: ParsableArguments {
  @Option(help: "Policy file (default $VLATUNE_POLICY, else $VLATUNE_HOME/policy.yaml, else built-in).")
  var policy: String?

  func resolved(_ context: VlatuneContext) throws -> Policy {
    try PolicyLoader.resolve(explicit: policy, environment: context.environment, home: context.home)
  }
}

/// Exit statuses of error codes (for dry-run reports).
enum VlatuneErrorCodes {
  static func exitStatus(_ code: String) -> Int32 {
    switch code {
    case "rate_limited", "concurrency_limited", "budget_exhausted": 75
    case "policy_denied": 77
    case "not_found": 66
    case "invalid_dataset": 65
    case "resource_unavailable": 69
    default: 64
    }
  }
}
