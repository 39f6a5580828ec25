// `vlatune-mcp`: the MCP server behind `vlatune mcp`, a separate executable so that the MCP SDK's
// networking dependencies (libcurl and the libraries it loads) are loaded only by MCP sessions.
// `vlatune mcp` validates the user's arguments and execs this with an internal interface:
//
//   vlatune-mcp --watcher PATH [--actor ACTOR] [--policy FILE]   serve on stdio
//   vlatune-mcp --tool-table                                      print docs/mcp.md's tool table
//
// `--watcher` is the `vlatune` binary that job watchers run as (`vlatune job __watch`).

import Foundation
import VlatuneCore
import VlatuneMCP

/// The internal arguments, as `vlatune mcp` passes them.
struct ServerArguments {
  var watcher: String?
  var actor: String?
  var policy: String?
  var toolTable = false

  init(_ arguments: [String]) throws {
    var rest = arguments[...]
    while let flag = rest.popFirst() {
      switch flag {
      case "--tool-table":
        toolTable = true
      case "--watcher", "--actor", "--policy":
        guard let value = rest.popFirst() else {
          throw VlatuneError.invalidArgument(param: flag, message: "needs a value")
        }
        if flag == "--watcher" { watcher = value } else if flag == "--actor" { actor = value } else { policy = value }
      default:
        throw VlatuneError.invalidArgument(
          param: flag, message: "is not an argument of vlatune-mcp; run 'vlatune mcp' instead")
      }
    }
    if !toolTable && watcher == nil {
      throw VlatuneError.invalidArgument(
        param: "--watcher", message: "is required (the vlatune binary); run 'vlatune mcp' instead")
    }
  }
}

do {
  let arguments = try ServerArguments(Array(CommandLine.arguments.dropFirst()))
  if arguments.toolTable {
    FileHandle.standardOutput.write(Data(MCPDocumentation.toolTable().utf8))
    exit(0)
  }
  let context = try VlatuneContext.open(environment: ProcessInfo.processInfo.environment)
  let policy = try PolicyLoader.resolve(
    explicit: arguments.policy, environment: context.environment, home: context.home)
  let server = VlatuneMCPServer(
    context: context, policy: policy, watcherExecutable: arguments.watcher ?? "vlatune",
    actor: arguments.actor)
  try await server.serveStandardIO()
} catch let error as VlatuneError {
  FileHandle.standardError.write(Data("Error: \(error.message)\n".utf8))
  exit(error.exitStatus)
} catch {
  FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
  exit(1)
}
