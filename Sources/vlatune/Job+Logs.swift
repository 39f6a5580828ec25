import ArgumentParser
import Foundation
import VlatuneCore

extension JobCommand {
  /// `vlatune job logs ID`.
  struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "logs",
      abstract: "Print a job's trainer output (stdout and stderr interleaved, or one of them).")

    @Argument(help: "Job id, unique id prefix, or name.") var job: String
    @Option(help: "both (interleaved in arrival order), stdout or stderr.") var stream: String = "both"
    @Option(help: "Only the last N lines.") var tail: Int?
    @Flag(help: "Keep printing new output until the job ends.") var follow = false
    @OptionGroup var guardOptions: GuardOptions

    func run() throws {
      let files = ["both": "output.log", "stdout": "stdout.log", "stderr": "stderr.log"]
      guard let file = files[stream] else {
        throw VlatuneError.invalidArgument(
          param: "--stream", message: "must be both, stdout or stderr, got '\(stream)'")
      }
      if let tail, tail < 0 {
        throw VlatuneError.invalidArgument(param: "--tail", message: "must be ≥ 0, got \(tail)")
      }
      let context = try VlatuneContext.open(environment: ProcessInfo.processInfo.environment)
      try guardOptions.admit("get_finetune_job", ["job": .string(job)], reference: job, context: context)
      let control = JobControl(context: context)
      var document = try control.status(job)
      let path = document.jobDir + "/" + file
      var bytes = (try? FileIO.read(path)) ?? []
      var offset = bytes.count
      if let tail { bytes = Self.lastLines(bytes, tail) }
      FileHandle.standardOutput.write(Data(bytes))
      guard follow else { return }
      while true {
        let finished = document.state.isTerminal
        let all = (try? FileIO.read(path)) ?? []
        if all.count > offset {
          FileHandle.standardOutput.write(Data(all[offset...]))
          offset = all.count
        } else if finished {
          return
        }
        Thread.sleep(forTimeInterval: 0.2)
        document = try control.status(document.id)
      }
    }

    static func lastLines(_ bytes: [UInt8], _ count: Int) -> [UInt8] {
      guard count > 0 else { return [] }
      var newlines = 0
      var index = bytes.count - 1
      if index >= 0 && bytes[index] == 0x0A { index -= 1 }
      while index >= 0 {
        if bytes[index] == 0x0A {
          newlines += 1
          if newlines == count { return Array(bytes[(index + 1)...]) }
        }
        index -= 1
      }
      return bytes
    }
  }
}
