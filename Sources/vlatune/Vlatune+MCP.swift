import ArgumentParser
import Foundation
import VlatuneCore

/// `vlatune mcp`: serve the tools over MCP on stdio (logs on stderr only).
///
/// The server lives in the sibling executable `vlatune-mcp`: the MCP SDK brings Foundation's
/// networking (libcurl and some 30 libraries it loads), which every other command would pay
/// for at start-up if it were linked into `vlatune`. This command checks its arguments, the
/// state directory and the policy, then replaces itself with `vlatune-mcp` (same process, same
/// stdio), telling it which `vlatune` starts job watchers.
struct MCPCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mcp",
    abstract: "Serve prepare_dataset, start_finetune_job, get/list/cancel jobs and list_datasets over MCP (stdio).",
    discussion: "See docs/mcp.md for the client configuration.")

  @Option(help: "Actor for limits and audit (default mcp:<client name from initialize>).")
  var actor: String?
  @OptionGroup var policy: PolicyOptions

  func run() throws {
    let context = try VlatuneContext.open(environment: ProcessInfo.processInfo.environment)
    _ = try policy.resolved(context)
    var arguments = ["--watcher", ProcessSpawner.currentExecutable]
    if let actor { arguments += ["--actor", actor] }
    if let file = policy.policy { arguments += ["--policy", file] }
    try SiblingExecutable.replaceProcess(with: "vlatune-mcp", arguments: arguments)
  }
}

/// Executables installed next to `vlatune` (`vlatune-mcp`).
enum SiblingExecutable {
  /// The path of `name` in the running binary's directory.
  static func path(_ name: String) -> String {
    URL(fileURLWithPath: ProcessSpawner.currentExecutable).deletingLastPathComponent()
      .appendingPathComponent(name).path
  }

  /// Replaces this process with `name` (execv); returns only by throwing.
  static func replaceProcess(with name: String, arguments: [String]) throws -> Never {
    let executable = path(name)
    guard FileManager.default.isExecutableFile(atPath: executable) else {
      throw VlatuneError.resourceUnavailable(
        message: "\(executable) is missing; it is built with vlatune (make build, or swift build) "
          + "and must sit next to the vlatune binary")
    }
    let argv = ([name] + arguments).map { strdup($0) } + [nil]
    execv(executable, argv)
    throw VlatuneError.resourceUnavailable(
      message: "cannot start \(executable): \(String(cString: strerror(errno)))")
  }
}
