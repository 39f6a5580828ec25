import Foundation
import MCP
import Synchronization
import VlatuneCore

/// `vlatune mcp`: the thin MCP adapter. Every tool call becomes the same core call the CLI makes,
/// so validation, policy, rate limits, idempotency and audit apply identically; results carry the
/// CLI's `--json` document as `structuredContent` and as text.
public struct VlatuneMCPServer: Sendable {
  let context: VlatuneContext
  let policy: Policy
  let watcherExecutable: String
  let actorOverride: String?

  /// - Parameters:
  ///   - context: State directory, database, environment.
  ///   - policy: The policy in force.
  ///   - watcherExecutable: The `vlatune` binary that runs job watchers.
  ///   - actor: Overrides the actor (`mcp:<client name>` by default).
  public init(context: VlatuneContext, policy: Policy, watcherExecutable: String, actor: String?) {
    self.context = context
    self.policy = policy
    self.watcherExecutable = watcherExecutable
    self.actorOverride = actor
  }

  /// The client's name from `initialize`, and how many calls are in flight.
  final class State: Sendable {
    let client = Mutex<String?>(nil)
    let inFlight = Atomic<Int>(0)
  }

  /// Builds a server with the tool handlers on any transport (stdio in production, in-memory in
  /// tests) and starts it, behind the ``EnvelopeGuard`` and a ``DrainingTransport`` above it.
  ///
  /// - Returns: The server, the number of calls in flight, and the number of requests the
  ///   server still owes a reply.
  public func start(on transport: any Transport) async throws
    -> (Server, @Sendable () -> Int, @Sendable () async -> Int)
  {
    let state = State()
    // Not `.strict`: in 0.12.1 strict mode drops (with no reply) a request that a pipelining
    // client sends right behind `initialize`, because each request runs in its own task.
    let server = Server(
      name: "vlatune", version: "0.1.0", title: "vlatune",
      instructions: "Prepare robot datasets and run LoRA fine-tunes of VLA models on this machine.",
      capabilities: .init(tools: .init(listChanged: false)), configuration: .default)
    let policy = self.policy
    // Hidden tools are left out of the list, as Intercept does (and refused if called anyway).
    await server.withMethodHandler(ListTools.self) { _ in
      .init(tools: ToolCatalog.tools.filter { !policy.hides($0.name) })
    }
    let handlers = ToolHandlers(
      context: context, policy: policy, watcherExecutable: watcherExecutable)
    let actorOverride = self.actorOverride
    let actor: @Sendable () -> String = {
      actorOverride ?? ActorName.mcp(clientName: state.client.withLock { $0 })
    }
    await server.withMethodHandler(CallTool.self) { params in
      state.inFlight.add(1, ordering: .sequentiallyConsistent)
      defer { state.inFlight.subtract(1, ordering: .sequentiallyConsistent) }
      return try await handlers.call(params.name, arguments: params.arguments ?? [:], actor: actor())
    }
    let gate = handlers.gate
    // The guard answers what it refuses itself; the draining layer above it counts only what
    // reaches the server.
    let guarded = DrainingTransport(
      EnvelopeGuard(transport) { tool, arguments, error in
        gate.auditRefusal(tool, actor: actor(), arguments: arguments, error: error)
      })
    try await server.start(transport: guarded) { client, _ in
      state.client.withLock { $0 = client.name }
    }
    return (server, { state.inFlight.load(ordering: .sequentiallyConsistent) }, { await guarded.outstanding })
  }

  /// Serves on stdin/stdout until stdin closes, then answers every request already read before
  /// returning (the SDK would otherwise drop them); gives up after two minutes.
  public func serveStandardIO() async throws {
    let (server, _, outstanding) = try await start(on: LineTransport())
    await server.waitUntilCompleted()
    let deadline = ContinuousClock.now + .seconds(120)
    while await outstanding() > 0 && ContinuousClock.now < deadline {
      try await Task.sleep(for: .milliseconds(10))
    }
    await server.stop()
  }
}
