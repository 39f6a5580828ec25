import ArgumentParser
import Foundation
import VlatuneCore

extension JobCommand {
  /// `vlatune job checkpoints JOB`: the checkpoints a job has, with their size and eval.
  struct Checkpoints: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "checkpoints",
      abstract: "List a job's checkpoints: step, size on disk, the eval at that step, completeness.",
      discussion:
        "A complete checkpoint (trainer_state.json present) can be resumed from: vlatune job resume JOB --checkpoint STEP."
    )

    @Argument(help: "Job id, unique id prefix, or name.") var job: String
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var guardOptions: GuardOptions

    func run() throws {
      let context = try VlatuneContext.open(environment: ProcessInfo.processInfo.environment)
      try guardOptions.admit("get_finetune_job", ["job": .string(job)], reference: job, context: context)
      let (document, history) = try JobControl(context: context).metrics(job)
      let rows = document.checkpoints.map { checkpoint in
        CheckpointRow(
          step: checkpoint.step, path: checkpoint.path, bytes: FileIO.treeSize(checkpoint.path),
          complete: FileIO.kind(checkpoint.path + "/trainer_state.json") == .regular,
          eval: history.evals.last { $0.step == checkpoint.step }?.values)
      }
      if json {
        Output.json(CheckpointList(job: document.id, checkpoints: rows))
        return
      }
      guard !rows.isEmpty else {
        Output.standardError("job \(document.id) has no checkpoints\n")
        return
      }
      var table = [["STEP", "SIZE", "VAL_L1", "COMPLETE", "PATH"]]
      for row in rows {
        table.append([
          "\(row.step)", ByteSize.format(row.bytes), row.eval?["val_l1"].map(JobText.format) ?? "-",
          row.complete ? "yes" : "no", TerminalText.escaped(row.path),
        ])
      }
      Output.standardOutput(TextTable.render(table))
    }
  }
}

/// One checkpoint of `job checkpoints`.
struct CheckpointRow: Encodable {
  let step: Int
  let path: String
  let bytes: Int64
  let complete: Bool
  let eval: [String: Double]?

  enum CodingKeys: String, CodingKey { case step, path, bytes, complete, eval }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(step, forKey: .step)
    try container.encode(path, forKey: .path)
    try container.encode(bytes, forKey: .bytes)
    try container.encode(complete, forKey: .complete)
    try container.encode(eval, forKey: .eval)
  }
}

/// `job checkpoints --json`.
struct CheckpointList: Encodable {
  let schemaVersion = 1
  let job: String
  let checkpoints: [CheckpointRow]

  enum CodingKeys: String, CodingKey {
    case job, checkpoints
    case schemaVersion = "schema_version"
  }
}
