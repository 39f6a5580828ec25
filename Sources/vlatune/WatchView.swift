import Foundation
import VlatuneCore

/// The frame `job status --watch` draws on a terminal: every line fits the width (long paths
/// are shortened in the middle, other lines cut with `…`), so the redraw knows exactly how many
/// rows it drew.
enum WatchView {
  /// The lines of one frame for a terminal `width` columns wide.
  static func frame(_ job: JobDocument, width: Int, now: Date = Date()) -> [String] {
    let width = max(width, 20)
    var lines: [String] = []
    let phase = phase(of: job)
    // The state first: a long name is what gets cut.
    var header = "\(job.id)  \(job.state.rawValue)"
    if let phase { header += " · \(phase)" }
    if job.attempt > 1 { header += "  attempt \(job.attempt)" }
    if let name = job.name { header += "  \(TerminalText.escaped(name))" }
    lines.append(fit(header, width))
    let started = job.startedAt.flatMap(Timestamp.parse) ?? Timestamp.parse(job.createdAt)
    let end = job.finishedAt.flatMap(Timestamp.parse) ?? now
    let elapsed = started.map { max(end.timeIntervalSince($0), 0) }
    if let progress = job.progress {
      let percent = progress.totalSteps > 0 ? progress.step * 100 / progress.totalSteps : 0
      var tail = " \(progress.step)/\(progress.totalSteps)\(job.kind == "eval" ? " episodes" : "") \(percent)%"
      if let elapsed { tail += "  elapsed \(JobText.duration(elapsed))" }
      if let eta = progress.etaSeconds, !job.state.isTerminal { tail += "  ETA \(JobText.duration(eta))" }
      let barWidth = min(30, max(width - tail.count - 2, 5))
      lines.append(fit(JobText.bar(progress.step, progress.totalSteps, width: barWidth) + tail, width))
      var numbers: [String] = []
      if let loss = progress.loss { numbers.append("loss \(significant(loss))") }
      if let rate = progress.learningRate { numbers.append("lr \(String(format: "%.2e", rate))") }
      if let norm = progress.gradNorm { numbers.append("grdn \(significant(norm))") }
      if let samples = progress.samplesPerSecond { numbers.append("\(significant(samples)) smp/s") }
      if !numbers.isEmpty { lines.append(fit(numbers.joined(separator: "  "), width)) }
    } else if let elapsed {
      lines.append(fit("elapsed \(JobText.duration(elapsed))", width))
    }
    if job.lossHistory.count > 1, let low = job.lossHistory.min(), let high = job.lossHistory.max() {
      let labels = "  min \(significant(low)) max \(significant(high))"
      let room = width - "loss ".count - labels.count
      if room >= 8 {
        lines.append("loss " + JobText.sparkline(job.lossHistory, width: min(room, 40)) + labels)
      }
    }
    if let evaluation = job.evaluation, job.kind == "eval", let rate = evaluation.successRate {
      var text = "success \(significant(rate)) (\(evaluation.successes)/\(evaluation.episodesDone))"
      if let interval = evaluation.ci95, interval.count == 2 {
        text += "  95 % [\(significant(interval[0])), \(significant(interval[1]))]"
      }
      if let length = evaluation.meanEpisodeLength { text += "  mean length \(significant(length))" }
      lines.append(fit(text, width))
    }
    if let eval = job.eval, let l1 = eval["val_l1"] {
      var text = "eval val_l1 \(significant(l1))"
      if let baseline = eval["val_baseline_l1"] { text += "  baseline \(significant(baseline))" }
      if let best = job.bestEval, let bestL1 = best.metrics["val_l1"] {
        text += "  best \(significant(bestL1)) @ \(best.step)"
      }
      lines.append(fit(text, width))
    }
    if let checkpoint = job.checkpoints.last {
      let prefix = "checkpoint \(checkpoint.step)  "
      lines.append(prefix + middle(TerminalText.escaped(checkpoint.path), width - prefix.count))
    }
    if let reason = job.queueReason { lines.append(fit("queued: " + TerminalText.escaped(reason), width)) }
    if let error = job.error {
      let message = TerminalText.escaped(error.message).replacingOccurrences(of: "\n", with: " ")
      lines.append(fit("error \(TerminalText.escaped(error.code)): \(message)", width))
    }
    return lines
  }

  /// The phase shown in the header.
  static func phase(of job: JobDocument) -> String? {
    switch job.state {
    case .running: job.progress?.phase ?? "training"
    case .starting: "starting"
    case .cancelling: "stopping (checkpointing)"
    default: nil
    }
  }

  /// Four significant digits (`0.2134`, `1.234e-05`).
  static func significant(_ value: Double) -> String { String(format: "%.4g", value) }

  /// `text` cut to `width` columns with `…`.
  static func fit(_ text: String, _ width: Int) -> String {
    guard text.count > width else { return text }
    return String(text.prefix(max(width - 1, 0))) + "…"
  }

  /// `text` shortened in the middle to `width` columns (`/work/…/step-0000060`).
  static func middle(_ text: String, _ width: Int) -> String {
    guard text.count > width else { return text }
    guard width > 3 else { return String(text.prefix(max(width, 0))) }
    let keep = width - 1
    let head = keep / 3
    return String(text.prefix(head)) + "…" + String(text.suffix(keep - head))
  }

  /// The terminal's width in columns (80 when it cannot be read).
  static func terminalWidth(_ descriptor: Int32 = STDOUT_FILENO) -> Int {
    var size = winsize()
    guard ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
    return Int(size.ws_col)
  }
}
