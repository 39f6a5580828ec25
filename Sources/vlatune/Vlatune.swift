import ArgumentParser
import Foundation
import VlatuneCore

/// The `vlatune` command: a namespace for the dataset, job, policy and mcp verbs.
@main
struct Vlatune: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "vlatune",
    abstract: "Prepare robot datasets and run LoRA fine-tunes of Vision-Language-Action models.",
    discussion: """
      State lives in $VLATUNE_HOME (default $XDG_DATA_HOME/vlatune or ~/.local/share/vlatune).
      Exit codes: 0 ok, 64 invalid argument, 65 invalid data, 66 not found, 69 unavailable,
      73 output exists, 74 I/O error, 75 try again later, 77 denied by policy.
      """,
    version: VlatuneVersion.current,
    subcommands: [
      DatasetCommand.self, JobCommand.self, PredictCommand.self, PolicyCommand.self, MCPCommand.self,
      DoctorCommand.self, DocsCommand.self, BenchCommand.self, SimCommand.self,
    ]
  )

  /// The single place where errors become output and exit codes.
  ///
  /// Every command is synchronous: an async main ran each command on a Dispatch worker thread
  /// and exited from another, which `job status` felt (docs/performance.md).
  ///
  /// A command that succeeds ends with `_exit(0)` once C's streams are flushed: everything it
  /// owns (the database connection, temporary files, signal traps) is released when `run()`
  /// returns (except the database connection of ``StatusFastPath``, left to `_exit`), and the
  /// process-wide teardown of `exit` (atexit handlers, static destructors of the runtime and
  /// the libraries) is measurable in every command (A/B runs in docs/performance.md).
  static func main() {
    signal(SIGXFSZ, SIG_IGN)
    let arguments = Array(CommandLine.arguments.dropFirst())
    let wantsJSON = arguments.contains("--json")
    do {
      if let status = StatusFastPath.parse(arguments) {
        // The database stays open until `_exit`. Its one possible write (marking the job lost)
        // is committed to the WAL by then; closing would only have tried a checkpoint, which
        // the next closing connection does, and the close (SQLite's, and the thread Dispatch
        // starts to dispose of GRDB's queue) was a measurable share of it (docs/performance.md).
        let context = try VlatuneContext.open(environment: ProcessInfo.processInfo.environment)
        try JobCommand.Status.admit(status.job, context: context)
        try JobCommand.Status.show(status.job, watch: false, json: status.json, context: context)
        fflush(nil)
        withExtendedLifetime(context) { _exit(0) }
      } else {
        var command = try parseAsRoot(arguments)
        try command.run()
      }
      fflush(nil)
      _exit(0)
    } catch let code as ExitCode {
      Foundation.exit(code.rawValue)
    } catch let error as VlatuneError {
      ErrorReport.print(error, json: wantsJSON)
      Foundation.exit(error.exitStatus)
    } catch {
      let code = exitCode(for: error)
      if wantsJSON && code != .success {
        ErrorReport.printUsage(message(for: error), json: true)
        Foundation.exit(code.rawValue)
      }
      exit(withError: error)
    }
  }
}
