import ArgumentParser
import Foundation
import VlatuneCore
import VlatuneMCP

/// `vlatune mcp`: serve the tools over MCP on stdio (logs on stderr only).
struct MCPCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mcp",
    abstract: "Serve prepare_dataset, start_finetune_job, get/list/cancel jobs and list_datasets over MCP (stdio).",
    discussion: "See docs/mcp.md for the client configuration.")

  @Option(help: "Actor for limits and audit (default mcp:<client name from initialize>).")
  var actor: String?
  @OptionGroup var policy: PolicyOptions

  func run() async throws {
    let context = try VlatuneContext.open(environment: ProcessInfo.processInfo.environment)
    let server = VlatuneMCPServer(
      context: context, policy: try policy.resolved(context),
      watcherExecutable: ProcessSpawner.currentExecutable, actor: actor)
    try await server.serveStandardIO()
  }
}
