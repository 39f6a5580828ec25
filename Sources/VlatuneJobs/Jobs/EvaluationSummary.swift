import Foundation
import VlatuneSupport

/// A closed-loop evaluation's result as the job document carries it (`evaluation`): for an
/// evaluation job its own (running while it runs), for a trained job its latest succeeded
/// evaluation.
public struct EvaluationSummary: Codable, Sendable, Equatable {
  /// The evaluation job.
  public var jobId: String
  /// Its state.
  public var state: JobState
  /// The job whose adapter it evaluates.
  public var sourceJob: String?
  /// The simulator and task.
  public var env: String
  /// The task.
  public var task: String
  /// `final`, `best`, `step-N`, `base` or `path`.
  public var checkpoint: String
  /// The evaluation seed.
  public var seed: Int
  /// Episodes asked for.
  public var episodes: Int
  /// Episodes finished.
  public var episodesDone: Int
  /// Successful episodes.
  public var successes: Int
  /// Successes over episodes finished.
  public var successRate: Double?
  /// The Wilson 95 % interval of the success rate.
  public var ci95: [Double]?
  /// Mean actions per episode.
  public var meanEpisodeLength: Double?
  /// Every episode's seed, outcome and length (`output/evaluation.json`).
  public var results: String
  /// Rollout videos written so far.
  public var videos: [String]
  /// When the evaluation ended.
  public var finishedAt: String?

  enum CodingKeys: String, CodingKey {
    case state, env, task, checkpoint, seed, episodes, successes, results, videos
    case jobId = "job_id"
    case sourceJob = "source_job"
    case episodesDone = "episodes_done"
    case successRate = "success_rate"
    case ci95 = "ci95"
    case meanEpisodeLength = "mean_episode_length"
    case finishedAt = "finished_at"
  }

  /// The summary of an evaluation job's row (`nil` for a training job).
  init?(record: JobRecord, spec: JobSpec) {
    guard let evaluation = spec.evaluation else { return nil }
    let metrics = record.eval.flatMap { try? JSONOutput.decode([String: Double].self, from: Data($0.utf8)) } ?? [:]
    jobId = record.id
    state = record.state
    sourceJob = evaluation.sourceJob
    env = evaluation.env
    task = evaluation.task
    checkpoint = evaluation.checkpoint
    seed = evaluation.seed
    episodes = evaluation.episodes
    episodesDone = Int(metrics["episodes_done"] ?? 0)
    successes = Int(metrics["successes"] ?? 0)
    successRate = metrics["success_rate"]
    if let low = metrics["ci95_low"], let high = metrics["ci95_high"] { ci95 = [low, high] }
    meanEpisodeLength = metrics["mean_episode_length"]
    results = spec.outputDir + "/evaluation.json"
    let videoDirectory = spec.outputDir + "/videos"
    videos = ((try? FileManager.default.contentsOfDirectory(atPath: videoDirectory)) ?? [])
      .filter { $0.hasSuffix(".mp4") }.sorted().map { videoDirectory + "/" + $0 }
    finishedAt = record.finishedAt
  }
}
