import ArgumentParser
import Foundation
import VlatuneCore

extension JobCommand {
  /// `vlatune job metrics JOB`: every progress and eval event the job reported.
  struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "metrics",
      abstract: "Print a job's metrics history: loss, learning rate, grad norm, samples/s and evals by step.",
      discussion: """
        A resumed job's series is the training that led to its adapter: an attempt replaces what
        earlier attempts reported after the step it resumed from.
        """)

    @Argument(help: "Job id, unique id prefix, or name.") var job: String
    @Flag(help: "Print the history as JSON.") var json = false
    @Flag(help: "Print the history as CSV (one row per event: kind, step, attempt, time, then the values).")
    var csv = false
    @OptionGroup var guardOptions: GuardOptions

    func run() throws {
      if json && csv {
        throw VlatuneError.invalidArgument(param: "--csv", message: "choose one of --json and --csv")
      }
      let context = try VlatuneContext.open(environment: ProcessInfo.processInfo.environment)
      try guardOptions.admit("get_finetune_job", ["job": .string(job)], reference: job, context: context)
      let (document, history) = try JobControl(context: context).metrics(job)
      if json {
        Output.json(MetricsDocument(job: document, history: history))
      } else if csv {
        Output.standardOutput(Self.csv(history))
      } else {
        Output.standardOutput(Self.table(history))
      }
    }

    /// One row per event; empty cells for values an event does not have.
    static func csv(_ history: MetricsHistory) -> String {
      let columns = history.columns
      var lines = [(["kind", "step", "attempt", "time"] + columns).joined(separator: ",")]
      for point in history.points {
        let values = columns.map { name in point.values[name].map { "\($0)" } ?? "" }
        lines.append(
          ([point.kind, "\(point.step)", "\(point.attempt)", String(format: "%.3f", point.at)] + values)
            .joined(separator: ","))
      }
      return lines.joined(separator: "\n") + "\n"
    }

    /// One row per step: its progress values, then the eval metrics measured at it.
    static func table(_ history: MetricsHistory) -> String {
      guard !history.points.isEmpty else { return "no metrics yet\n" }
      let columns = history.columns
      var rows = [["STEP"] + columns.map { $0.uppercased() }]
      var byStep: [Int: [String: Double]] = [:]
      var order: [Int] = []
      for point in history.points {
        if byStep[point.step] == nil { order.append(point.step) }
        byStep[point.step, default: [:]].merge(point.values) { _, new in new }
      }
      for step in order {
        rows.append(["\(step)"] + columns.map { byStep[step]?[$0].map(JobText.format) ?? "-" })
      }
      return TextTable.render(rows)
    }
  }
}

/// `job metrics --json`.
struct MetricsDocument: Encodable {
  let job: JobDocument
  let history: MetricsHistory

  enum CodingKeys: String, CodingKey {
    case schemaVersion = "schema_version"
    case job, attempt, progress, eval
    case bestEval = "best_eval"
  }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(1, forKey: .schemaVersion)
    try container.encode(job.id, forKey: .job)
    try container.encode(job.attempt, forKey: .attempt)
    try container.encode(history.progress.map(Self.row), forKey: .progress)
    try container.encode(history.evals.map(Self.row), forKey: .eval)
    try container.encode(history.bestEval.map(Self.row), forKey: .bestEval)
  }

  static func row(_ point: MetricsHistory.Point) -> [String: AnyJSONValue] {
    var row = point.values.mapValues { AnyJSONValue(.number($0)) }
    row["step"] = AnyJSONValue(.number(Double(point.step)))
    row["attempt"] = AnyJSONValue(.number(Double(point.attempt)))
    row["time"] = AnyJSONValue(.number(point.at))
    return row
  }
}
