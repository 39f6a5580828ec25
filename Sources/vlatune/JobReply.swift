import ArgumentParser
import VlatuneCore

/// What `job start`, `job resume` and `job eval` print for the job they admitted: with
/// `--wait`, the job once it has ended (exit 100 failed or lost / 103 cancelled); the document
/// with `--json`, the id with `--quiet`, else the summary.
enum JobReply {
  /// - Parameter waiting: What stderr says while `--wait` waits (`job_… started`).
  static func print(
    _ document: JobDocument, context: VlatuneContext, wait: Bool, json: Bool, quiet: Bool, waiting: String
  ) throws {
    var document = document
    if wait {
      if !quiet && !json { Output.standardError("\(waiting); waiting for it to end…\n") }
      document = try JobControl(context: context).wait(document.id, timeout: nil)
    }
    if json {
      Output.json(document)
    } else if quiet {
      Output.standardOutput(document.id + "\n")
    } else {
      if document.replayed { Output.standardError("idempotency key matched: returning the existing job\n") }
      Output.standardOutput(JobText.summary(document))
    }
    if wait && document.state.waitExitStatus != 0 { throw ExitCode(document.state.waitExitStatus) }
  }
}
