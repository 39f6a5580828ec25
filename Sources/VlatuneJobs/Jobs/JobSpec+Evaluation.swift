extension JobSpec {
  /// What an evaluation job (`job eval`) runs: the adapter, the simulator task and the episodes
  /// (the trainer's `evaluate.py` reads it; docs/eval.md).
  public struct Evaluation: Codable, Sendable, Equatable {
    /// The adapter directory (`output/adapter` or `output/best`).
    public var adapter: String
    /// Which weights: `final`, `best`, `step-N`, `base` (the untrained start) or `path`.
    public var checkpoint: String
    /// The simulator.
    public var env: String
    /// Its task.
    public var task: String
    /// Episodes to run.
    public var episodes: Int
    /// Actions per episode at most.
    public var maxSteps: Int
    /// The evaluation seed (episode seeds are derived from it).
    public var seed: Int
    /// The render size.
    public var imageSize: Int
    /// Episodes recorded as videos.
    public var videos: Int
    /// The job whose adapter this is (absent for an adapter directory of another home).
    public var sourceJob: String?
    /// A checkpoint whose adapter weights replace the final ones (`step-N`).
    public var weights: String?
    /// Actions run from each predicted chunk (absent: the trained chunk).
    public var actionHorizon: Int?

    enum CodingKeys: String, CodingKey {
      case adapter, checkpoint, env, task, episodes, seed, videos, weights
      case maxSteps = "max_steps"
      case imageSize = "image_size"
      case sourceJob = "source_job"
      case actionHorizon = "action_horizon"
    }
  }
}
