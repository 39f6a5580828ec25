import ArgumentParser
import Foundation
import VlatuneCore

/// `job start`'s parameter flags, in groups for `--help` (required, start from, data, LoRA,
/// optimisation, resources, Slurm, job). Each group lists its values by table name; numeric
/// options take the next argument even when it starts with `-`, so `--batch-size -1` is refused
/// as out of range rather than as a missing value.
enum StartHelp {
  /// The table's help for a parameter, its allowed values and default.
  static func text(_ name: String, required: Bool = false) -> ArgumentHelp {
    let definition = JobParameters.table[name]
    let shown = definition?.defaultValue.map(Self.shown)
    return ArgumentHelp(
      (required ? "Required (unless --from or --config gives it). " : "")
        + "\(definition?.help ?? "") (\(definition?.allowed ?? "")"
        + "\(shown.map { "; default \($0)" } ?? ""))")
  }

  /// A default as compact JSON.
  static func shown(_ value: JSONValue) -> String {
    (try? JSONOutput.string(AnyJSON(value), pretty: false)) ?? ""
  }
}

/// What a group contributes: `(table name, command-line text)` pairs and the flags set.
protocol StartOptionGroup: ParsableArguments {
  var values: [(String, String?)] { get }
  var flags: [(String, Bool)] { get }
}

extension StartOptionGroup {
  var flags: [(String, Bool)] { [] }
}

struct RequiredStartOptions: StartOptionGroup {
  @Option(help: StartHelp.text("base_model", required: true)) var baseModel: String?
  @Option(help: StartHelp.text("dataset", required: true)) var dataset: String?
  var values: [(String, String?)] { [("base_model", baseModel), ("dataset", dataset)] }
}

struct OriginStartOptions: StartOptionGroup {
  @Option(help: StartHelp.text("from")) var from: String?
  @Option(help: StartHelp.text("init_from")) var initFrom: String?
  @Option(
    help:
      "A run file (YAML) of parameters by their table names, e.g. from 'vlatune job show-config'; flags given here override it."
  )
  var config: String?
  var values: [(String, String?)] { [("from", from), ("init_from", initFrom)] }
}

struct DataStartOptions: StartOptionGroup {
  @Option(parsing: .unconditional, help: StartHelp.text("action_chunk")) var actionChunk: String?
  @Option(parsing: .unconditional, help: StartHelp.text("image_size")) var imageSize: String?
  @Option(help: StartHelp.text("proprio")) var proprio: String?
  @Option(help: StartHelp.text("image_map")) var imageMap: String?
  @Option(help: StartHelp.text("tokenizer")) var tokenizer: String?
  @Option(parsing: .unconditional, help: StartHelp.text("data_workers")) var dataWorkers: String?
  var values: [(String, String?)] {
    [
      ("action_chunk", actionChunk), ("image_size", imageSize), ("proprio", proprio), ("image_map", imageMap),
      ("tokenizer", tokenizer), ("data_workers", dataWorkers),
    ]
  }
}

struct LoRAStartOptions: StartOptionGroup {
  @Option(parsing: .unconditional, help: StartHelp.text("lora_rank")) var loraRank: String?
  @Option(parsing: .unconditional, help: StartHelp.text("lora_alpha")) var loraAlpha: String?
  @Option(parsing: .unconditional, help: StartHelp.text("lora_dropout")) var loraDropout: String?
  @Option(help: StartHelp.text("target_modules")) var targetModules: String?
  var values: [(String, String?)] {
    [
      ("lora_rank", loraRank), ("lora_alpha", loraAlpha), ("lora_dropout", loraDropout),
      ("target_modules", targetModules),
    ]
  }
}

struct OptimisationStartOptions: StartOptionGroup {
  @Option(parsing: .unconditional, help: StartHelp.text("learning_rate")) var learningRate: String?
  @Option(help: StartHelp.text("lr_schedule")) var lrSchedule: String?
  @Option(parsing: .unconditional, help: StartHelp.text("batch_size")) var batchSize: String?
  @Option(parsing: .unconditional, help: StartHelp.text("grad_accum")) var gradAccum: String?
  @Option(parsing: .unconditional, help: StartHelp.text("max_steps")) var maxSteps: String?
  @Option(parsing: .unconditional, help: StartHelp.text("seed")) var seed: String?
  @Option(help: StartHelp.text("precision")) var precision: String?
  @Option(parsing: .unconditional, help: StartHelp.text("checkpoint_interval")) var checkpointInterval: String?
  @Flag(help: StartHelp.text("gradient_checkpointing")) var gradientCheckpointing = false
  var values: [(String, String?)] {
    [
      ("learning_rate", learningRate), ("lr_schedule", lrSchedule), ("batch_size", batchSize),
      ("grad_accum", gradAccum), ("max_steps", maxSteps), ("seed", seed), ("precision", precision),
      ("checkpoint_interval", checkpointInterval),
    ]
  }
  var flags: [(String, Bool)] { [("gradient_checkpointing", gradientCheckpointing)] }
}

struct ResourceStartOptions: StartOptionGroup {
  @Option(parsing: .unconditional, help: StartHelp.text("gpus")) var gpus: String?
  @Option(help: StartHelp.text("executor")) var executor: String?
  @Option(parsing: .unconditional, help: StartHelp.text("nodes")) var nodes: String?
  @Option(parsing: .unconditional, help: StartHelp.text("processes")) var processes: String?
  @Flag(help: StartHelp.text("force")) var force = false
  @Flag(help: StartHelp.text("trust_remote_code")) var trustRemoteCode = false
  var values: [(String, String?)] {
    [("gpus", gpus), ("executor", executor), ("nodes", nodes), ("processes", processes)]
  }
  var flags: [(String, Bool)] { [("force", force), ("trust_remote_code", trustRemoteCode)] }
}

struct SlurmStartOptions: StartOptionGroup {
  @Option(help: StartHelp.text("slurm_partition")) var slurmPartition: String?
  @Option(help: StartHelp.text("slurm_account")) var slurmAccount: String?
  @Option(help: StartHelp.text("slurm_qos")) var slurmQos: String?
  @Option(help: StartHelp.text("slurm_memory")) var slurmMemory: String?
  @Option(parsing: .unconditional, help: StartHelp.text("time_limit")) var timeLimit: String?
  var values: [(String, String?)] {
    [
      ("slurm_partition", slurmPartition), ("slurm_account", slurmAccount), ("slurm_qos", slurmQos),
      ("slurm_memory", slurmMemory), ("time_limit", timeLimit),
    ]
  }
}

struct JobStartOptions: StartOptionGroup {
  @Option(help: StartHelp.text("name")) var name: String?
  @Option(
    help: "A label key=value stored with the job and shown in its document (repeatable; at most 16).")
  var metadata: [String] = []
  @Option(help: StartHelp.text("idempotency_key")) var idempotencyKey: String?
  @Option(help: StartHelp.text("tracker")) var tracker: String?
  var values: [(String, String?)] { [("name", name), ("idempotency_key", idempotencyKey), ("tracker", tracker)] }

  /// `--metadata k=v` (repeatable; `a=1,b=2` in one flag still works): every pair needs `=`.
  func metadataValue() throws -> JSONValue? { try Self.metadataValue(metadata) }

  /// `--metadata` entries as the parameter's object (`job start`, `job eval`).
  static func metadataValue(_ metadata: [String]) throws -> JSONValue? {
    guard !metadata.isEmpty else { return nil }
    var members: [String: JSONValue] = [:]
    for entry in metadata {
      for pair in entry.split(separator: ",", omittingEmptySubsequences: true) {
        let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].trimmingCharacters(in: .whitespaces).isEmpty else {
          throw VlatuneError.invalidParameters([
            ParameterProblem(
              param: "metadata",
              message: "metadata (--metadata) takes key=value, got '\(TerminalText.escaped(String(pair)))'")
          ])
        }
        members[parts[0].trimmingCharacters(in: .whitespaces)] = .string(parts[1])
      }
    }
    return .object(members)
  }
}
