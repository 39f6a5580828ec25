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
        Every value is checked against one parameter table (docs/parameters.md), then the policy,
        rate limits, idempotency key, job caps and GPU-hour budget decide admission. The job
        outlives this command; follow it with 'vlatune job status ID --watch'.
        """)

    static func help(_ name: String) -> ArgumentHelp {
      let definition = JobParameters.table[name]
      return ArgumentHelp(
        "\(definition?.help ?? "") (\(definition?.allowed ?? "")"
          + "\(definition?.defaultValue.map { "; default \(Self.shown($0))" } ?? ""))")
    }

    static func shown(_ value: JSONValue) -> String {
      (try? JSONOutput.string(AnyJSON(value), pretty: false)) ?? ""
    }

    @Option(help: help("base_model")) var baseModel: String?
    @Option(help: help("dataset")) var dataset: String?
    @Option(parsing: .unconditional, help: help("lora_rank")) var loraRank: String?
    @Option(parsing: .unconditional, help: help("lora_alpha")) var loraAlpha: String?
    @Option(parsing: .unconditional, help: help("lora_dropout")) var loraDropout: String?
    @Option(help: help("target_modules")) var targetModules: String?
    @Option(parsing: .unconditional, help: help("learning_rate")) var learningRate: String?
    @Option(parsing: .unconditional, help: help("batch_size")) var batchSize: String?
    @Option(parsing: .unconditional, help: help("grad_accum")) var gradAccum: String?
    @Option(parsing: .unconditional, help: help("max_steps")) var maxSteps: String?
    @Option(parsing: .unconditional, help: help("seed")) var seed: String?
    @Option(parsing: .unconditional, help: help("gpus")) var gpus: String?
    @Option(parsing: .unconditional, help: help("action_chunk")) var actionChunk: String?
    @Option(parsing: .unconditional, help: help("image_size")) var imageSize: String?
    @Option(help: help("precision")) var precision: String?
    @Option(parsing: .unconditional, help: help("checkpoint_interval")) var checkpointInterval: String?
    @Option(help: help("proprio")) var proprio: String?
    @Option(parsing: .unconditional, help: help("data_workers")) var dataWorkers: String?
    @Option(help: help("lr_schedule")) var lrSchedule: String?
    @Option(parsing: .unconditional, help: help("nodes")) var nodes: String?
    @Option(parsing: .unconditional, help: help("processes")) var processes: String?
    @Option(help: help("slurm_partition")) var slurmPartition: String?
    @Option(help: help("slurm_account")) var slurmAccount: String?
    @Option(help: help("slurm_qos")) var slurmQos: String?
    @Option(help: help("slurm_memory")) var slurmMemory: String?
    @Option(parsing: .unconditional, help: help("time_limit")) var timeLimit: String?
    @Option(help: help("image_map")) var imageMap: String?
    @Option(help: help("tokenizer")) var tokenizer: String?
    @Flag(help: help("gradient_checkpointing")) var gradientCheckpointing = false
    @Flag(help: help("trust_remote_code")) var trustRemoteCode = false
    @Flag(help: help("force")) var force = false
    @Option(help: help("name")) var name: String?
    @Option(help: help("metadata")) var metadata: String?
    @Option(help: help("idempotency_key")) var idempotencyKey: String?
    @Option(help: help("executor")) var executor: String?
    @Option(help: help("from")) var from: String?
    @Option(help: help("init_from")) var initFrom: String?
    @Option(
      help: "A run file (YAML) of parameters by their table names, e.g. from 'vlatune job show-config'; flags given here override it.")
    var config: String?
    @OptionGroup var actor: ActorOptions
    @OptionGroup var policy: PolicyOptions
    @Flag(help: "Validate, resolve and evaluate policy and limits; start and consume nothing.")
    var dryRun = false
    @Flag(help: "Block until the job ends; exit 0 / 100 failed or lost / 103 cancelled.") var wait = false
    @Flag(help: "Print only the job id.") var quiet = false
    @Flag(help: "Print the job document as JSON.") var json = false

    /// The run file's values (`--config`) with the command line's over them.
    func parameters(_ environment: [String: String]) throws -> [String: JSONValue] {
      var values = try config.map { try RunFile.read(path: ($0 as NSString).expandingTildeInPath) } ?? [:]
      for (name, value) in rawParameters(environment) { values[name] = value }
      return values
    }

    /// The raw values given on the command line (and `$VLATUNE_IDEMPOTENCY_KEY`).
    func rawParameters(_ environment: [String: String]) -> [String: JSONValue] {
      var raw: [String: String] = [:]
      let values: [(String, String?)] = [
        ("base_model", baseModel), ("dataset", dataset), ("lora_rank", loraRank),
        ("lora_alpha", loraAlpha), ("lora_dropout", loraDropout), ("target_modules", targetModules),
        ("learning_rate", learningRate), ("batch_size", batchSize), ("grad_accum", gradAccum),
        ("max_steps", maxSteps), ("seed", seed), ("gpus", gpus), ("action_chunk", actionChunk),
        ("image_size", imageSize), ("precision", precision),
        ("checkpoint_interval", checkpointInterval), ("name", name), ("metadata", metadata),
        ("idempotency_key", idempotencyKey ?? environment["VLATUNE_IDEMPOTENCY_KEY"]),
        ("executor", executor), ("proprio", proprio), ("data_workers", dataWorkers),
        ("nodes", nodes), ("processes", processes), ("lr_schedule", lrSchedule), ("slurm_partition", slurmPartition),
        ("slurm_account", slurmAccount), ("slurm_qos", slurmQos), ("slurm_memory", slurmMemory), ("time_limit", timeLimit),
        ("image_map", imageMap), ("tokenizer", tokenizer), ("from", from), ("init_from", initFrom),
      ]
      for (key, value) in values { if let value { raw[key] = value } }
      var parameters = JobParameters.table.fromCommandLine(raw)
      let flags = [
        ("gradient_checkpointing", gradientCheckpointing), ("trust_remote_code", trustRemoteCode),
        ("force", force),
      ]
      for (key, value) in flags where value { parameters[key] = .bool(true) }
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
      guard var document = outcome.document else {
        if case .dryRun(let report) = outcome {
          if json { Output.json(report) } else { Output.standardOutput(try JSONOutput.string(report) + "\n") }
          if !json, let memory = report.spec.memoryEstimate {
            let device = memory.gpuMemoryBytes.map { " (the GPU has \(ByteSize.format(Int64($0))))" } ?? ""
            Output.standardError(
              "memory estimate: \(memory.parameters) parameters, \(memory.trainableParameters) trainable, "
                + "peak \(ByteSize.format(Int64(memory.totalBytes)))\(report.spec.gpus > 0 ? " per GPU" : "")\(device)\n")
          }
          if let refusal = report.refusal, refusal.code != "replay" {
            Output.standardError("a real start would be refused: \(TerminalText.escaped(refusal.message))\n")
            throw ExitCode(VlatuneErrorCodes.exitStatus(refusal.code))
          }
        }
        return
      }
      if wait {
        if !quiet && !json { Output.standardError("\(document.id) started; waiting for it to end…\n") }
        document = try JobControl(context: context).wait(document.id, timeout: nil)
      }
      if json {
        Output.json(document)
      } else if quiet {
        Output.standardOutput(document.id + "\n")
      } else {
        if document.replayed { Output.standardError("idempotency key matched: returning the existing job\n") }
        Output.standardOutput(JobText.summary(document))
      }
      if wait && document.state.waitExitStatus != 0 { throw ExitCode(document.state.waitExitStatus) }
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
