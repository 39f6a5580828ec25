import ArgumentParser
import Foundation
import VlatuneCore

extension JobCommand {
  /// `vlatune job status ID`.
  struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "status",
      abstract: "Show a job: state, progress, loss, timings, outputs, error.")

    @Argument(help: "Job id, unique id prefix, or name.") var job: String
    @Flag(help: "Refresh until the job ends.") var watch = false
    @Flag(help: "Print the job document as JSON.") var json = false
    @OptionGroup var guardOptions: GuardOptions

    func run() throws {
      let context = try VlatuneContext.open(environment: ProcessInfo.processInfo.environment)
      try guardOptions.admit("get_finetune_job", ["job": .string(job)], reference: job, context: context)
      try Self.show(job, watch: watch, json: json, context: context)
    }

    /// Admits `get_finetune_job` with the environment's actor and policy (``StatusFastPath``).
    static func admit(_ job: String, context: VlatuneContext) throws {
      try GuardOptions.admit(
        "get_finetune_job", ["job": .string(job)], reference: job, context: context, actor: nil, policy: nil)
    }

    /// Prints the job's document once, or until it ends with `watch` (also the entry of
    /// ``StatusFastPath``, once admitted).
    static func show(_ job: String, watch: Bool, json: Bool, context: VlatuneContext) throws {
      let control = JobControl(context: context)
      var document = try control.status(job)
      guard watch else {
        if json { Output.json(document) } else { Output.standardOutput(JobText.summary(document)) }
        return
      }
      let terminal = Output.standardOutputIsTerminal && !json
      let resize = terminal ? ResizeSignal() : nil
      var lastLines = 0
      var lastWidth = 0
      var lastKey = ""
      while true {
        if json {
          let key = "\(document.state.rawValue)/\(document.progress?.step ?? -1)"
          if key != lastKey { Output.jsonLine(document) }
          lastKey = key
        } else if terminal {
          let width = WatchView.terminalWidth()
          let lines = WatchView.frame(document, width: width)
          // Every line fits, so the rows drawn are the lines drawn. After a resize the terminal
          // may have rewrapped the old frame: clear the screen instead of counting back.
          var output = ""
          if lastWidth != 0 && width != lastWidth {
            output += "\u{1B}[2J\u{1B}[H"
          } else if lastLines > 0 {
            output += "\u{1B}[\(lastLines)F\u{1B}[J"
          }
          output += lines.joined(separator: "\n") + "\n"
          Output.standardOutput(output)
          lastLines = lines.count
          lastWidth = width
        } else {
          let line = JobText.oneLine(document)
          if line != lastKey { Output.standardOutput(line + "\n") }
          lastKey = line
        }
        if document.state.isTerminal { break }
        // Half a second between frames; a resize redraws at once.
        for _ in 0..<10 where !(resize?.resized ?? false) { Thread.sleep(forTimeInterval: 0.05) }
        resize?.clear()
        document = try control.status(document.id)
      }
      withExtendedLifetime(resize) {}
    }
  }

  /// `vlatune job list`.
  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List jobs, newest first.")

    @Option(help: "Only jobs in this state.") var state: String?
    @Option(help: "At most this many jobs (default 50).") var limit: Int?
    @Option(help: "Only jobs whose name starts with this.") var name: String?
    @Option(help: "Only jobs with this label, key=value (repeatable: all must match).") var metadata: [String] = []
    @Option(help: "Table columns, comma-separated, of: \(JobText.listColumns.joined(separator: ", ")).")
    var columns: String?
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var guardOptions: GuardOptions

    func run() throws {
      let context = try VlatuneContext.open(environment: ProcessInfo.processInfo.environment)
      var labels: [String: String] = [:]
      for entry in metadata {
        let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty else {
          throw VlatuneError.invalidArgument(
            param: "--metadata", message: "takes key=value, got '\(TerminalText.escaped(entry))'")
        }
        labels[parts[0]] = parts[1]
      }
      let shown = try columns.map(JobText.checkColumns) ?? JobText.defaultColumns
      let query = try JobControl.ListQuery(stateName: state, limit: limit, namePrefix: name, metadata: labels)
      var arguments: [String: JSONValue] = [:]
      if let limit { arguments["limit"] = .number(Double(limit)) }
      if let state { arguments["state"] = .string(state) }
      if let name { arguments["name_prefix"] = .string(name) }
      if !labels.isEmpty { arguments["metadata"] = .object(labels.mapValues { .string($0) }) }
      try guardOptions.admit("list_finetune_jobs", arguments, reference: nil, context: context)
      let jobs = try JobControl(context: context).list(query)
      if json {
        Output.json(JobListDocument(jobs: jobs))
      } else if jobs.isEmpty {
        Output.standardError("no jobs\n")
      } else {
        Output.standardOutput(JobText.table(jobs, columns: shown))
      }
    }
  }

  /// `vlatune job wait ID`.
  struct Wait: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "wait",
      abstract: "Wait for a job to end: exit 0 succeeded, 100 failed or lost, 101 timed out, 103 cancelled.")

    @Argument(help: "Job id, unique id prefix, or name.") var job: String
    @Option(help: "Give up after this many seconds (exit 101).") var timeout: Double?
    @Flag(help: "Print the job document as JSON.") var json = false
    @OptionGroup var guardOptions: GuardOptions

    func run() throws {
      if let timeout, !(timeout >= 0) {
        throw VlatuneError.invalidArgument(param: "--timeout", message: "must be ≥ 0 seconds, got \(timeout)")
      }
      let context = try VlatuneContext.open(environment: ProcessInfo.processInfo.environment)
      try guardOptions.admit("get_finetune_job", ["job": .string(job)], reference: job, context: context)
      let document = try JobControl(context: context).wait(job, timeout: timeout)
      if json { Output.json(document) } else { Output.standardOutput(JobText.oneLine(document) + "\n") }
      let status = document.state.waitExitStatus
      if status != 0 { throw ExitCode(status) }
    }
  }

  /// `vlatune job cancel ID`.
  struct Cancel: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "cancel",
      abstract: "Cancel a job (idempotent): SIGTERM, a grace period for a checkpoint, then SIGKILL.")

    @Argument(help: "Job id, unique id prefix, or name.") var job: String
    @Option(help: "Seconds between SIGTERM and SIGKILL (default 30).") var grace: Double?
    @Option(help: "Why, recorded with the job.") var reason: String?
    @Flag(help: "Return at once instead of waiting for the job to end.") var noWait = false
    @OptionGroup var guardOptions: GuardOptions
    @Flag(help: "Print the job document as JSON.") var json = false

    func run() throws {
      if let grace, !(grace >= 0 && grace <= 86_400) {
        throw VlatuneError.invalidArgument(param: "--grace", message: "must be in 0…86400 seconds, got \(grace)")
      }
      try JobControl.checkReason(reason)
      let environment = ProcessInfo.processInfo.environment
      let context = try VlatuneContext.open(environment: environment)
      var arguments: [String: JSONValue] = ["job": .string(job)]
      if let grace { arguments["grace_seconds"] = .number(grace) }
      if let reason { arguments["reason"] = .string(reason) }
      try guardOptions.admit("cancel_finetune_job", arguments, reference: job, context: context)
      if let note = JobControl.nothingToCancel(try JobControl(context: context).status(job)) {
        Output.standardError(note + "\n")
      }
      let document = try JobControl(context: context).cancel(
        job, grace: grace ?? 30, reason: reason, actor: try guardOptions.actor.resolved(environment),
        wait: !noWait)
      if json { Output.json(document) } else { Output.standardOutput(JobText.oneLine(document) + "\n") }
    }
  }
}
