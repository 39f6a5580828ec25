import ArgumentParser
import Foundation
import VlatuneCore

/// The `vlatune` command: a namespace for the dataset, job, policy and mcp verbs.
@main
struct Vlatune: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "vlatune",
    abstract: "Prepare robot datasets and run LoRA fine-tunes of Vision-Language-Action models.",
    discussion: """
      State lives in $VLATUNE_HOME (default $XDG_DATA_HOME/vlatune or ~/.local/share/vlatune).
      Exit codes: 0 ok, 64 invalid argument, 65 invalid data, 66 not found, 69 unavailable,
      73 output exists, 74 I/O error, 75 try again later, 77 denied by policy.
      """,
    subcommands: [DatasetCommand.self, JobCommand.self, PolicyCommand.self, MCPCommand.self, DoctorCommand.self, DocsCommand.self, BenchCommand.self]
  )

  /// The single place where errors become output and exit codes.
  static func main() async {
    signal(SIGXFSZ, SIG_IGN)
    let arguments = Array(CommandLine.arguments.dropFirst())
    let wantsJSON = arguments.contains("--json")
    do {
      var command = try parseAsRoot(arguments)
      if var asyncCommand = command as? any AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try command.run()
      }
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
