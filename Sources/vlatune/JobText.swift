import Foundation
import VlatuneCore

/// Human renderings of job documents.
enum JobText {
  static func summary(_ job: JobDocument) -> String {
    var lines = ["\(job.id)\(job.name.map { "  \($0)" } ?? "")  \(job.state.rawValue)"]
    let h = job.hyperparameters
    lines.append(
      "  model       \(job.baseModel)  LoRA r\(h.loraRank) α\(format(h.loraAlpha)) dropout \(format(h.loraDropout))")
    if let evaluation = job.evaluation, job.kind == "eval" {
      lines.append(evaluationHeader(evaluation, gpus: job.gpus))
    } else {
      lines.append(
        "  training    lr \(format(h.learningRate))  batch \(h.batchSize)×\(h.gradAccum)  \(h.maxSteps) steps  seed \(h.seed)  gpus \(job.gpus)"
      )
    }
    lines.append("  dataset     \(job.dataset.id)  \(job.dataset.fingerprint.prefix(19))…")
    if !job.metadata.isEmpty {
      lines.append(
        "  metadata    "
          + job.metadata.sorted { $0.key < $1.key }.map { TerminalText.escaped("\($0.key)=\($0.value)") }
          .joined(separator: "  "))
    }
    if let last = job.attempts.last {
      lines.append(
        "  attempt     \(job.attempt), resumed from step \(last.fromStep) after \(last.previousState) "
          + "(\(job.attempts.count) resume\(job.attempts.count == 1 ? "" : "s"))")
    }
    if let reason = job.queueReason { lines.append("  queued      \(TerminalText.escaped(reason))") }
    if let progress = job.progress {
      var text = "  progress    \(bar(progress.step, progress.totalSteps)) \(progress.step)/\(progress.totalSteps)"
      if job.kind == "eval" { text += " episodes" }
      if let loss = progress.loss { text += "  loss \(format(loss))" }
      if let rate = progress.samplesPerSecond { text += "  \(format(rate)) samples/s" }
      if let eta = progress.etaSeconds, !job.state.isTerminal { text += "  ETA \(duration(eta))" }
      lines.append(text)
    }
    if job.lossHistory.count > 1 { lines.append("  loss        \(sparkline(job.lossHistory))") }
    if let evaluation = job.evaluation {
      lines.append(evaluationResult(evaluation, ownJob: job.kind == "eval"))
      if job.kind == "eval" && FileIO.kind(evaluation.results) == .regular {
        lines.append("  results     \(evaluation.results)")
      }
      if job.kind == "eval", let first = evaluation.videos.first {
        lines.append("  videos      \(evaluation.videos.count) in \((first as NSString).deletingLastPathComponent)")
      }
    }
    if let eval = job.eval, !eval.isEmpty, job.kind != "eval" {
      lines.append(
        "  eval        "
          + eval.sorted { $0.key < $1.key }.map { "\(TerminalText.escaped($0.key)) \(format($0.value))" }
          .joined(separator: "  "))
    }
    if let best = job.bestEval, let l1 = best.metrics["val_l1"] ?? best.metrics["val_loss"] {
      let name = best.metrics["val_l1"] != nil ? "val_l1" : "val_loss"
      lines.append("  best eval   \(name) \(format(l1)) at step \(best.step)")
    }
    lines.append("  created     \(job.createdAt)")
    if let started = job.startedAt { lines.append("  started     \(started)") }
    if let finished = job.finishedAt { lines.append("  finished    \(finished)") }
    if !job.checkpoints.isEmpty {
      lines.append(
        "  checkpoints \(job.checkpoints.count), latest step \(job.checkpoints.last!.step): \(job.checkpoints.last!.path)"
      )
    }
    if FileIO.kind(job.output.adapter) == .directory { lines.append("  output      \(job.output.adapter)") }
    lines.append("  logs        vlatune job logs \(job.id)")
    if let error = job.error {
      let message = TerminalText.escaped(error.message, keepingNewlines: true)
      lines.append("  error       \(error.code): \(message.replacingOccurrences(of: "\n", with: "\n              "))")
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// `job start --dry-run` without `--json`: what a real start would do.
  static func dryRun(_ report: DryRunReport) -> String {
    let spec = report.spec
    let h = spec.hyperparameters
    var lines = [
      report.wouldStart
        ? "dry run: a real start would be admitted now (nothing was started or consumed)"
        : "dry run: a real start would be refused (\(report.refusal?.code ?? "?"))"
    ]
    lines.append(
      "  model       \(spec.baseModel)  LoRA r\(h.loraRank) α\(format(h.loraAlpha)) dropout \(format(h.loraDropout))  targets \(h.targetModules.joined(separator: ","))"
    )
    lines.append(
      "  training    lr \(format(h.learningRate)) \(h.lrSchedule)  batch \(h.batchSize)×\(h.gradAccum)  \(h.maxSteps) steps  seed \(h.seed)  checkpoint every \(h.checkpointInterval)"
    )
    lines.append("  dataset     \(spec.dataset.name) (\(spec.dataset.id))")
    lines.append(
      "  resources   \(spec.gpus == 0 ? "CPU" : "\(spec.gpus) GPU(s)")  executor \(spec.executor)  \(String(format: "%.2f", report.estimatedGpuHours)) GPU-hours estimated"
    )
    if let initAdapter = spec.initAdapter { lines.append("  init from   \(initAdapter)") }
    lines.append("  policy      \(report.policy)")
    if let refusal = report.refusal { lines.append("  refusal     \(TerminalText.escaped(refusal.message))") }
    return lines.joined(separator: "\n") + "\n"
  }

  static func oneLine(_ job: JobDocument) -> String {
    var text = "\(job.id) \(job.state.rawValue)"
    if let progress = job.progress {
      text += job.kind == "eval" ? " episode" : " step"
      text += " \(progress.step)/\(progress.totalSteps)"
    }
    if let loss = job.progress?.loss { text += " loss \(format(loss))" }
    if job.kind == "eval", let rate = job.evaluation?.successRate { text += " success \(format(rate))" }
    if let error = job.error { text += " (\(error.code))" }
    return text
  }

  /// The columns `job list --columns` knows.
  static let listColumns = [
    "id", "name", "state", "step", "loss", "lr", "val_l1", "baseline", "best_val_l1", "elapsed", "attempt",
    "model", "dataset", "executor", "gpus", "created", "kind", "success", "ci95",
  ]
  /// The columns `job list` shows by default.
  static let defaultColumns = ["id", "name", "state", "step", "loss", "created"]

  /// Checks a `--columns` list (64 naming an unknown column).
  static func checkColumns(_ text: String) throws -> [String] {
    let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    if let unknown = names.first(where: { !listColumns.contains($0) }) {
      throw VlatuneError.invalidArgument(
        param: "--columns",
        message: "unknown column '\(TerminalText.escaped(unknown))'; known: \(listColumns.joined(separator: ", "))")
    }
    guard !names.isEmpty else {
      throw VlatuneError.invalidArgument(param: "--columns", message: "name at least one column")
    }
    return names
  }

  static func table(_ jobs: [JobDocument], columns: [String] = defaultColumns, now: Date = Date()) -> String {
    var rows = [columns.map { $0.uppercased() }]
    for job in jobs {
      rows.append(columns.map { TerminalText.escaped(cell(job, $0, now: now)) })
    }
    return TextTable.render(rows)
  }

  static func cell(_ job: JobDocument, _ column: String, now: Date) -> String {
    switch column {
    case "id": return job.id
    case "name": return job.name ?? "-"
    case "state": return job.state.rawValue
    case "step": return job.progress.map { "\($0.step)/\($0.totalSteps)" } ?? "-"
    case "loss": return job.progress?.loss.map(format) ?? "-"
    case "lr": return job.progress?.learningRate.map(format) ?? "-"
    case "val_l1": return job.eval?["val_l1"].map(format) ?? "-"
    case "baseline": return job.eval?["val_baseline_l1"].map(format) ?? "-"
    case "best_val_l1": return job.bestEval?.metrics["val_l1"].map(format) ?? "-"
    case "elapsed":
      guard let started = job.startedAt.flatMap(Timestamp.parse) else { return "-" }
      let end = job.finishedAt.flatMap(Timestamp.parse) ?? now
      return duration(max(end.timeIntervalSince(started), 0))
    case "attempt": return "\(job.attempt)"
    case "model": return job.baseModel
    case "dataset": return job.dataset.id
    case "executor": return job.executor
    case "gpus": return "\(job.gpus)"
    case "kind": return job.kind
    // An evaluation job's own result, a trained job's latest evaluation.
    case "success": return job.evaluation?.successRate.map(format) ?? "-"
    case "ci95":
      guard let interval = job.evaluation?.ci95, interval.count == 2 else { return "-" }
      return "[\(format(interval[0])), \(format(interval[1]))]"
    default: return job.createdAt
    }
  }

  static func bar(_ done: Int, _ total: Int, width: Int = 24) -> String {
    let filled = total > 0 ? min(width, done * width / total) : 0
    return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "]"
  }

  static func sparkline(_ values: [Double], width: Int = 40) -> String {
    let blocks = Array("▁▂▃▄▅▆▇█")
    // At most `width` points, evenly spaced, the last one included.
    let count = min(values.count, max(width, 1))
    let sampled = (0..<count).map { values[count == 1 ? values.count - 1 : $0 * (values.count - 1) / (count - 1)] }
    guard let low = sampled.min(), let high = sampled.max(), high > low else {
      return String(repeating: blocks[0], count: sampled.count)
    }
    return String(sampled.map { blocks[Int(((($0 - low) / (high - low)) * 7).rounded())] })
  }

  /// `45s`, `4m12s`, `2h05m`.
  static func duration(_ seconds: Double) -> String {
    let whole = Int(seconds.rounded())
    if whole < 60 { return "\(whole)s" }
    if whole < 3600 { return "\(whole / 60)m" + String(format: "%02ds", whole % 60) }
    return "\(whole / 3600)h" + String(format: "%02dm", whole % 3600 / 60)
  }

  static func format(_ value: Double) -> String {
    if value == value.rounded() && abs(value) < 1e6 { return String(Int(value)) }
    if abs(value) < 1e-3 || abs(value) >= 1e5 { return String(format: "%.2e", value) }
    return String(format: "%.4g", value)
  }
}
