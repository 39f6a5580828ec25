import VlatuneCore

extension JobText {
  /// An evaluation job's second line: what it evaluates, where and how.
  static func evaluationHeader(_ evaluation: EvaluationSummary, gpus: Int) -> String {
    "  evaluation  \(evaluation.env)/\(evaluation.task)  \(evaluation.checkpoint) adapter"
      + (evaluation.sourceJob.map { " of \($0)" } ?? "")
      + "  \(evaluation.episodes) episodes  seed \(evaluation.seed)  gpus \(gpus)"
  }

  /// The success rate with its interval: an evaluation job's own (running while it runs), or a
  /// trained job's latest evaluation.
  static func evaluationResult(_ evaluation: EvaluationSummary, ownJob: Bool) -> String {
    var text = ownJob ? "  success     " : "  evaluated   \(evaluation.env)/\(evaluation.task): success "
    if let rate = evaluation.successRate {
      text += "\(format(rate))"
      if let interval = evaluation.ci95, interval.count == 2 {
        text += " [\(format(interval[0])), \(format(interval[1]))] 95 %"
      }
      text += " (\(evaluation.successes)/\(evaluation.episodesDone))"
      if let length = evaluation.meanEpisodeLength { text += "  mean length \(format(length)) steps" }
    } else {
      text += "no episode finished yet"
    }
    if !ownJob { text += "  by \(evaluation.jobId) (\(evaluation.checkpoint), seed \(evaluation.seed))" }
    return text
  }
}
