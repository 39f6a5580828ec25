import Foundation
import GRDB
import VlatuneStore
import VlatuneSupport

/// Applies new `events.jsonl` lines to the job row: progress (with ETA and a loss history for the
/// sparkline), checkpoints, eval metrics, and the trainer's own outcome; and keeps every progress
/// and eval event in `job_metrics` (`job metrics`), tagged with the job's attempt.
final class EventIngestor {
  private let jobs: JobStore
  private let jobID: String
  private let attempt: Int
  /// The step the trainer resumed from (ETA counts the steps done since).
  private var resumedFrom = 0
  private var pendingRows: [MetricRow] = []
  private let tail: EventTail
  private(set) var offset: Int64
  private(set) var malformed: Int
  private(set) var completed = false
  private(set) var trainerFailure: (code: String, message: String)?
  private var lossHistory: [Double]
  private var totalSteps: Int?
  private var pendingProgress: JobDocument.Progress?
  /// The progress last written (a phase event updates it).
  private var latestProgress: JobDocument.Progress?
  private var pendingMetrics: [String: Double]?
  private var pendingCheckpoints: [(Int, String)] = []
  /// Whether events were read that the database does not have yet.
  private var unwritten = false
  private let startedAt: Date
  /// What a progress event means: `training`, or `evaluating` for an evaluation job.
  private let progressPhase: String
  /// The most points kept for the loss sparkline (halved when full).
  static let historyLimit = 240

  init(jobs: JobStore, record: JobRecord, eventsPath: String, startedAt: Date) {
    self.jobs = jobs
    self.jobID = record.id
    self.attempt = record.attempt
    self.tail = EventTail(path: eventsPath)
    self.offset = record.eventsOffset
    self.malformed = record.malformedEvents
    self.lossHistory =
      record.lossHistory.flatMap { try? JSONOutput.decode([Double].self, from: Data($0.utf8)) } ?? []
    self.latestProgress =
      record.progress.flatMap { try? JSONOutput.decode(JobDocument.Progress.self, from: Data($0.utf8)) }
    self.startedAt = startedAt
    self.progressPhase = record.kind == "eval" ? "evaluating" : "training"
  }

  /// Reads and applies new events; one transaction per batch.
  ///
  /// - Returns: Whether anything new was read.
  @discardableResult
  func poll() throws -> Bool {
    let (lines, newOffset) = tail.read(from: offset)
    guard newOffset != offset || unwritten else { return false }
    for line in lines {
      if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
      guard let (event, time) = TrainerEvent.parseTimed(line) else {
        malformed += 1
        continue
      }
      let at = time ?? Date().timeIntervalSince1970
      switch event {
      case .started(let total, let from):
        totalSteps = total ?? totalSteps
        resumedFrom = from
      case .progress(let step, let total, let loss, let learningRate, let samplesPerSecond, let gradNorm):
        totalSteps = total ?? totalSteps
        let elapsed = Date().timeIntervalSince(startedAt)
        let remaining = totalSteps.map { Double(max($0 - step, 0)) }
        let done = step - resumedFrom
        let eta = done > 0 ? remaining.map { $0 * elapsed / Double(done) } : nil
        pendingProgress = JobDocument.Progress(
          step: step, totalSteps: totalSteps ?? step, loss: loss, learningRate: learningRate,
          samplesPerSecond: samplesPerSecond, etaSeconds: eta, gradNorm: gradNorm, phase: progressPhase)
        latestProgress = pendingProgress
        if let loss { appendLoss(loss) }
        var data: [String: Double] = [:]
        data["loss"] = loss
        data["learning_rate"] = learningRate
        data["grad_norm"] = gradNorm
        data["samples_per_second"] = samplesPerSecond
        pendingRows.append(MetricRow(kind: "progress", step: step, at: at, data: data))
      case .phase(let phase):
        if var progress = pendingProgress ?? latestProgress {
          progress.phase = phase
          pendingProgress = progress
          latestProgress = progress
        }
      case .checkpoint(let step, let path):
        pendingCheckpoints.append((step, path))
      case .eval(let step, let values):
        pendingMetrics = values
        let evalStep = step ?? (pendingProgress ?? latestProgress)?.step ?? 0
        pendingRows.append(MetricRow(kind: "eval", step: evalStep, at: at, data: values))
      case .completed:
        completed = true
      case .cancelled, .other:
        break
      case .failed(let code, let message):
        trainerFailure = (code, message)
      }
    }
    offset = newOffset
    unwritten = true
    try flush()
    return true
  }

  /// Writes what has been read and not yet written, in one transaction. When the write fails
  /// (the database is locked), everything stays pending for the next poll: no checkpoint or
  /// progress is lost.
  private func flush() throws {
    var assignments: [JobStore.Assignment] = [
      (.eventsOffset, offset), (.malformedEvents, malformed),
    ]
    if let progress = pendingProgress {
      assignments.append((.progress, try JSONOutput.string(progress, pretty: false)))
      assignments.append((.lossHistory, try JSONOutput.string(lossHistory, pretty: false)))
    }
    if let metrics = pendingMetrics { assignments.append((.eval, try JSONOutput.string(metrics, pretty: false))) }
    let checkpoints = pendingCheckpoints
    let rows = pendingRows
    try jobs.store.write { database in
      try jobs.update(database, jobID, set: assignments, evenIfTerminal: true)
      for (step, path) in checkpoints {
        try jobs.addCheckpoint(database, job: jobID, step: step, path: path)
      }
      for row in rows {
        try database.execute(
          sql: "INSERT INTO job_metrics (job_id, attempt, kind, step, at, data) VALUES (?, ?, ?, ?, ?, ?)",
          arguments: [jobID, attempt, row.kind, row.step, row.at, try JSONOutput.string(row.data, pretty: false)])
      }
    }
    pendingProgress = nil
    pendingMetrics = nil
    pendingCheckpoints = []
    pendingRows = []
    unwritten = false
  }

  private func appendLoss(_ loss: Double) {
    lossHistory.append(loss)
    if lossHistory.count > Self.historyLimit {
      lossHistory = stride(from: 0, to: lossHistory.count, by: 2).map { lossHistory[$0] }
    }
  }
}

/// One progress or eval event as `job_metrics` keeps it.
struct MetricRow {
  /// `progress` or `eval`.
  var kind: String
  /// The optimizer step.
  var step: Int
  /// When the trainer reported it (seconds since the epoch).
  var at: Double
  /// The numeric fields (`loss`, `learning_rate`, `val_l1`, …).
  var data: [String: Double]
}
