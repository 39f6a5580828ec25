import Foundation
import GRDB
import VlatuneSupport

/// A job's kept progress and eval events (`job_metrics`) as one series across its attempts: a
/// resumed attempt replaces what earlier attempts reported after the step it resumed from, so
/// the series is the training that led to the job's current adapter.
public struct MetricsHistory: Sendable, Equatable {
  /// One kept event.
  public struct Point: Sendable, Equatable {
    /// `progress` or `eval`.
    public var kind: String
    /// The optimizer step.
    public var step: Int
    /// The attempt that reported it.
    public var attempt: Int
    /// When (seconds since the epoch).
    public var at: Double
    /// The numeric fields.
    public var values: [String: Double]
  }

  /// The points in step order (progress before eval at the same step).
  public var points: [Point]

  /// The progress points.
  public var progress: [Point] { points.filter { $0.kind == "progress" } }
  /// The eval points.
  public var evals: [Point] { points.filter { $0.kind == "eval" } }

  /// The eval with the lowest `val_l1` (else `val_loss`).
  public var bestEval: Point? {
    let key = evals.contains { $0.values["val_l1"] != nil } ? "val_l1" : "val_loss"
    return evals.filter { $0.values[key] != nil }.min { $0.values[key]! < $1.values[key]! }
  }

  /// Every value name that occurs, in a stable order: the progress fields first, then the eval
  /// metrics sorted.
  public var columns: [String] {
    let progressOrder = ["loss", "learning_rate", "grad_norm", "samples_per_second"]
    let names = Set(points.flatMap { $0.values.keys })
    return progressOrder.filter(names.contains) + names.subtracting(progressOrder).sorted()
  }

  /// Reads the history of `jobID` (only the `kind` events when given: `eval` for the best).
  static func load(_ database: Database, jobID: String, kind: String? = nil) throws -> MetricsHistory {
    // Attempt N continues from `from_step`: earlier attempts' points beyond it are superseded.
    let resumes = try Row.fetchAll(
      database, sql: "SELECT attempt, from_step FROM job_attempts WHERE job_id = ?", arguments: [jobID]
    ).map { (attempt: $0["attempt"] as Int, from: $0["from_step"] as Int) }
    let rows = try Row.fetchAll(
      database,
      sql: "SELECT kind, step, attempt, at, data FROM job_metrics WHERE job_id = ?"
        + (kind == nil ? "" : " AND kind = ?") + " ORDER BY step, attempt, at",
      arguments: StatementArguments([jobID] + (kind.map { [$0] } ?? [])))
    var points: [Point] = []
    for row in rows {
      let attempt: Int = row["attempt"]
      let step: Int = row["step"]
      if resumes.contains(where: { $0.attempt > attempt && $0.from < step }) { continue }
      let data: String = row["data"]
      let object = (try? JSONParser.parse(Array(data.utf8)))?.objectValue ?? [:]
      points.append(
        Point(
          kind: row["kind"], step: step, attempt: attempt, at: row["at"],
          values: object.compactMapValues(\.numberValue)))
    }
    points.sort { ($0.step, $0.kind == "eval" ? 1 : 0) < ($1.step, $1.kind == "eval" ? 1 : 0) }
    return MetricsHistory(points: points)
  }
}
