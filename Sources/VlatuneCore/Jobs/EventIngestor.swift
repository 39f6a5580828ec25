import Foundation
import GRDB

/// Applies new `events.jsonl` lines to the job row: progress (with ETA and a loss history for the
/// sparkline), checkpoints, eval metrics, and the trainer's own outcome.
final class EventIngestor {
  private let jobs: JobStore
  private let jobID: String
  private let tail: EventTail
  private(set) var offset: Int64
  private(set) var malformed: Int
  private(set) var completed = false
  private(set) var trainerFailure: (code: String, message: String)?
  private var lossHistory: [Double]
  private var totalSteps: Int?
  private var pendingProgress: JobDocument.Progress?
  private var pendingMetrics: [String: Double]?
  private var pendingCheckpoints: [(Int, String)] = []
  /// Whether events were read that the database does not have yet.
  private var unwritten = false
  private let startedAt: Date
  /// The most points kept for the loss sparkline (halved when full).
  static let historyLimit = 240

  init(jobs: JobStore, record: JobRecord, eventsPath: String, startedAt: Date) {
    self.jobs = jobs
    self.jobID = record.id
    self.tail = EventTail(path: eventsPath)
    self.offset = record.eventsOffset
    self.malformed = record.malformedEvents
    self.lossHistory =
      record.lossHistory.flatMap { try? JSONOutput.decode([Double].self, from: Data($0.utf8)) } ?? []
    self.startedAt = startedAt
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
      guard let event = TrainerEvent.parse(line) else {
        malformed += 1
        continue
      }
      switch event {
      case .started(let total):
        totalSteps = total ?? totalSteps
      case .progress(let step, let total, let loss, let learningRate, let samplesPerSecond):
        totalSteps = total ?? totalSteps
        let elapsed = Date().timeIntervalSince(startedAt)
        let remaining = totalSteps.map { Double(max($0 - step, 0)) }
        let eta = step > 0 ? remaining.map { $0 * elapsed / Double(step) } : nil
        pendingProgress = JobDocument.Progress(
          step: step, totalSteps: totalSteps ?? step, loss: loss, learningRate: learningRate,
          samplesPerSecond: samplesPerSecond, etaSeconds: eta)
        if let loss { appendLoss(loss) }
      case .checkpoint(let step, let path):
        pendingCheckpoints.append((step, path))
      case .eval(let values):
        pendingMetrics = values
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
      ("events_offset", offset), ("malformed_events", malformed),
    ]
    if let progress = pendingProgress {
      assignments.append(("progress", try JSONOutput.string(progress, pretty: false)))
      assignments.append(("loss_history", try JSONOutput.string(lossHistory, pretty: false)))
    }
    if let metrics = pendingMetrics { assignments.append(("eval", try JSONOutput.string(metrics, pretty: false))) }
    let checkpoints = pendingCheckpoints
    try jobs.store.write { database in
      try jobs.update(database, jobID, set: assignments, evenIfTerminal: true)
      for (step, path) in checkpoints {
        try jobs.addCheckpoint(database, job: jobID, step: step, path: path)
      }
    }
    pendingProgress = nil
    pendingMetrics = nil
    pendingCheckpoints = []
    unwritten = false
  }

  private func appendLoss(_ loss: Double) {
    lossHistory.append(loss)
    if lossHistory.count > Self.historyLimit {
      lossHistory = stride(from: 0, to: lossHistory.count, by: 2).map { lossHistory[$0] }
    }
  }
}
