/// What `job start` was asked for, before defaults and resolution.
public struct JobRequest: Sendable, Equatable {
  /// Built-in model names.
  public static let builtinModels = ["tiny-vla"]

  /// A built-in model name or a local checkpoint directory with `config.json`.
  public var baseModel: String
  /// Dataset id, unique prefix or name.
  public var dataset: String
  /// LoRA rank, 1–1024 (default 32).
  public var loraRank = 32
  /// LoRA alpha, > 0 (default 16).
  public var loraAlpha = 16.0
  /// LoRA dropout, in [0, 1) (default 0).
  public var loraDropout = 0.0
  /// Learning rate, in (0, 1) (default 5e-4).
  public var learningRate = 5e-4
  /// Batch size, 1–4096 (default 8).
  public var batchSize = 8
  /// Gradient accumulation, 1–1024 (default 1).
  public var gradAccum = 1
  /// Optimizer steps, 1–10 000 000 (default 1000).
  public var maxSteps = 1000
  /// Seed; a random one is drawn and recorded when absent.
  public var seed: UInt64?
  /// GPUs, 0–64; default 1 when a GPU exists, else 0.
  public var gpus: Int?
  /// Optional name (letters, digits, `.`, `_`, `-`; at most 64).
  public var name: String?
  /// `local` (`slurm` arrives with the Slurm executor).
  public var executor = "local"
  /// Who asks (`cli:$USER`, `mcp:<client>`).
  public var actor = "cli"

  /// A request with defaults.
  public init(baseModel: String, dataset: String) {
    self.baseModel = baseModel
    self.dataset = dataset
  }

  /// Checks every value that needs no I/O and reports all problems at once.
  ///
  /// - Throws: ``VlatuneError/invalidArgument(param:message:)`` naming the first parameter and
  ///   listing the others, each with its allowed range and the value given.
  public func validate() throws {
    var problems: [(String, String)] = []
    func check(_ ok: Bool, _ param: String, _ message: String) {
      if !ok { problems.append((param, message)) }
    }
    check(!baseModel.isEmpty, "--base-model", "is required (a built-in model such as tiny-vla or a local checkpoint directory)")
    check(!dataset.isEmpty, "--dataset", "is required (a dataset id, unique prefix or name)")
    check((1...1024).contains(loraRank), "--lora-rank", "must be in 1…1024, got \(loraRank)")
    check(loraAlpha > 0 && loraAlpha.isFinite, "--lora-alpha", "must be > 0, got \(loraAlpha)")
    check(loraDropout >= 0 && loraDropout < 1, "--lora-dropout", "must be in [0, 1), got \(loraDropout)")
    check(learningRate > 0 && learningRate < 1, "--learning-rate", "must be in (0, 1), got \(learningRate)")
    check((1...4096).contains(batchSize), "--batch-size", "must be in 1…4096, got \(batchSize)")
    check((1...1024).contains(gradAccum), "--grad-accum", "must be in 1…1024, got \(gradAccum)")
    check((1...10_000_000).contains(maxSteps), "--max-steps", "must be in 1…10000000, got \(maxSteps)")
    if let gpus { check((0...64).contains(gpus), "--gpus", "must be in 0…64, got \(gpus)") }
    check(executor == "local", "--executor", "must be local (slurm is not available yet), got '\(executor)'")
    if let name, let problem = PrepareRequest.nameProblem(name) { problems.append(("--name", problem)) }
    if let first = problems.first {
      let rest = problems.dropFirst().map { "; \($0.0) \($0.1)" }.joined()
      throw VlatuneError.invalidArgument(param: first.0, message: first.1 + rest)
    }
  }
}
