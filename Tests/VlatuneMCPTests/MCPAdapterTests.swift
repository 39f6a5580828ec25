import Foundation
import MCP
import Testing
import VlatuneCore
import VlatuneTestSupport

@testable import VlatuneMCP

/// The adapter in-process over the SDK's in-memory transport, with the fake trainer behind it.
@Suite(.enabled(if: TestPaths.hasPython), .serialized)
struct MCPAdapterTests {
  let directory = TemporaryDirectory("vlatune-mcp")

  func connect(policy: Policy = .builtin, trainer: String = "--steps 3 --step-seconds 0.01") async throws
    -> (Client, Server)
  {
    let script = TestPaths.repository.appendingPathComponent("Tests/Fixtures/fake_trainer.py").path
    let environment = ProcessInfo.processInfo.environment.merging([
      "VLATUNE_HOME": directory.appending("home").path,
      "VLATUNE_TRAINER": "\(TestPaths.python!) \(script) \(trainer)",
    ]) { _, new in new }
    let context = try VlatuneContext.open(environment: environment)
    let adapter = VlatuneMCPServer(
      context: context, policy: policy, watcherExecutable: TestPaths.binary.path, actor: nil)
    let (clientTransport, serverTransport) = await InMemoryTransport.createConnectedPair()
    let (server, _, _) = try await adapter.start(on: serverTransport)
    let client = Client(name: "test-agent", version: "1.0")
    _ = try await client.connect(transport: clientTransport)
    return (client, server)
  }

  func call(_ client: Client, _ name: String, _ arguments: [String: Value]) async throws -> CallTool.Result {
    let context: RequestContext<CallTool.Result> = try await client.callTool(name: name, arguments: arguments)
    return try await context.value
  }

  @Test func toolsHaveSchemasFromTheParameterTable() async throws {
    let (client, server) = try await connect()
    defer { Task { await server.stop() } }
    let (tools, _) = try await client.listTools()
    #expect(
      Set(tools.map(\.name)) == [
        "prepare_dataset", "start_finetune_job", "get_finetune_job", "list_finetune_jobs",
        "cancel_finetune_job", "list_datasets", "resume_finetune_job", "evaluate_policy",
      ])
    let start = try #require(tools.first { $0.name == "start_finetune_job" })
    let schema = try #require(start.inputSchema.objectValue)
    #expect(schema["additionalProperties"] == false)
    // base_model and dataset are required unless `from` names a job to take them from.
    #expect(schema["required"] == [])
    #expect(schema["anyOf"] == [["required": ["base_model", "dataset"]], ["required": ["from"]]])
    #expect(schema["properties"]?.objectValue?["from"]?.objectValue?["type"] == "string")
    let resume = try #require(tools.first { $0.name == "resume_finetune_job" }?.inputSchema.objectValue)
    #expect(resume["required"] == ["job"])
    #expect(resume["properties"]?.objectValue?["checkpoint"]?.objectValue?["default"] == "last")
    let evaluate = try #require(tools.first { $0.name == "evaluate_policy" }?.inputSchema.objectValue)
    #expect(evaluate["required"] == ["job", "task"])
    #expect(evaluate["properties"]?.objectValue?["episodes"]?.objectValue?["default"] == 20)
    #expect(evaluate["properties"]?.objectValue?["env"]?.objectValue?["default"] == "metaworld")
    let rank = try #require(schema["properties"]?.objectValue?["lora_rank"]?.objectValue)
    #expect(rank["type"] == "integer" && rank["minimum"] == 1 && rank["maximum"] == 1024 && rank["default"] == 32)
    #expect(start.annotations.destructiveHint == false)
    #expect(tools.allSatisfy { $0.outputSchema != nil })
    #expect(tools.first { $0.name == "cancel_finetune_job" }?.annotations.destructiveHint == true)
    #expect(tools.first { $0.name == "get_finetune_job" }?.annotations.readOnlyHint == true)
  }

  @Test func badArgumentsComeBackAsCorrectableErrors() async throws {
    let (client, server) = try await connect()
    defer { Task { await server.stop() } }
    let result = try await call(client, "start_finetune_job", ["lora_rank": 0])
    #expect(result.isError == true)
    let error = try #require(result.structuredContent?.objectValue?["error"]?.objectValue)
    #expect(error["code"] == "invalid_argument")
    let message = try #require(error["message"]?.stringValue)
    #expect(message.contains("base_model (--base-model) is required"))
    #expect(message.contains("lora_rank (--lora-rank) must be in [1, 1024], got 0"))
    let badState = try await call(client, "list_finetune_jobs", ["state": "done"])
    #expect(badState.isError == true)
    #expect(badState.structuredContent?.objectValue?["error"]?.objectValue?["param"] == "state")
    #expect(
      badState.structuredContent?.objectValue?["error"]?.objectValue?["message"]?.stringValue
        == "invalid value for state: must be one of queued, starting, running, cancelling, "
        + "succeeded, failed, cancelled, lost, got 'done'")
    let evaluation = try await call(client, "evaluate_policy", ["job": "job_nosuch", "task": "reach-v3"])
    #expect(evaluation.isError == true)
    #expect(evaluation.structuredContent?.objectValue?["error"]?.objectValue?["code"] == "not_found")
    let noTask = try await call(client, "evaluate_policy", ["job": "job_nosuch"])
    #expect(noTask.structuredContent?.objectValue?["error"]?.objectValue?["code"] == "invalid_argument")
    await #expect(throws: (any Error).self) {
      _ = try await call(client, "launch_rockets", [:])
    }
  }

  @Test func prepareStartPollAndRateLimit() async throws {
    var policy = Policy.builtin
    policy.tools["start_finetune_job"] = [
      .init(action: "allow", reason: nil, rateLimit: .init(max: 2, window: 60), requiredArgs: true)
    ]
    let (client, server) = try await connect(policy: policy)
    defer { Task { await server.stop() } }
    let source = try SampleData.copy(into: directory.url)
    let prepared = try await call(client, "prepare_dataset", ["source": .string(source.path), "name": "blocks"])
    #expect(prepared.isError == false)
    #expect(prepared.structuredContent?.objectValue?["name"] == "blocks")
    if case .text(let text, _, _) = prepared.content.first {
      #expect(try JSONParser.parse(text)["name"]?.stringValue == "blocks")
    }

    let arguments: [String: Value] = [
      "base_model": "tiny-vla", "dataset": "blocks", "idempotency_key": "agent-run-1",
    ]
    let started = try await call(client, "start_finetune_job", arguments)
    #expect(started.isError == false)
    let job = try #require(started.structuredContent?.objectValue?["id"]?.stringValue)
    #expect(started.structuredContent?.objectValue?["actor"] == "mcp:test-agent")
    let replay = try await call(client, "start_finetune_job", arguments)
    #expect(replay.structuredContent?.objectValue?["id"]?.stringValue == job)
    #expect(replay.structuredContent?.objectValue?["replayed"] == true)

    var state = ""
    try await waitUntilAsync("job \(job) to succeed") {
      let status = try await call(client, "get_finetune_job", ["job": .string(job)])
      state = status.structuredContent?.objectValue?["state"]?.stringValue ?? ""
      return ["succeeded", "failed"].contains(state)
    }
    #expect(state == "succeeded")

    _ = try await call(client, "start_finetune_job", ["base_model": "tiny-vla", "dataset": "blocks"])
    let limited = try await call(client, "start_finetune_job", ["base_model": "tiny-vla", "dataset": "blocks"])
    #expect(limited.isError == true)
    let error = try #require(limited.structuredContent?.objectValue?["error"]?.objectValue)
    #expect(error["code"] == "rate_limited")
    #expect((error["retry_after_seconds"]?.doubleValue ?? 0) > 0)

    let list = try await call(client, "list_finetune_jobs", ["state": "succeeded"])
    #expect(list.structuredContent?.objectValue?["jobs"]?.arrayValue?.isEmpty == false)
    let datasets = try await call(client, "list_datasets", [:])
    #expect(datasets.structuredContent?.objectValue?["datasets"]?.arrayValue?.count == 1)
  }
}

extension MCPAdapterTests {
  @Test func agentResumesAndForksThroughTheTools() async throws {
    let (client, server) = try await connect(trainer: "--steps 0 --step-seconds 0.01")
    defer { Task { await server.stop() } }
    let source = try SampleData.copy(into: directory.url)
    _ = try await call(client, "prepare_dataset", ["source": .string(source.path), "name": "blocks"])
    let started = try await call(
      client, "start_finetune_job", ["base_model": "tiny-vla", "dataset": "blocks", "max_steps": 5])
    let job = try #require(started.structuredContent?.objectValue?["id"]?.stringValue)
    func state() async throws -> [String: Value] {
      try await call(client, "get_finetune_job", ["job": .string(job)]).structuredContent?.objectValue ?? [:]
    }
    try await waitUntilAsync("job \(job) to succeed") { try await state()["state"] == "succeeded" }

    let cancel = try await call(client, "cancel_finetune_job", ["job": .string(job)])
    if case .text(let note, _, _) = cancel.content.first {
      #expect(note == "job \(job) already succeeded; nothing to cancel")
    }
    let short = try await call(client, "resume_finetune_job", ["job": .string(job), "max_steps": 5])
    #expect(short.isError == true)
    #expect(short.structuredContent?.objectValue?["error"]?.objectValue?["code"] == "invalid_argument")
    let resumed = try await call(client, "resume_finetune_job", ["job": .string(job), "max_steps": 8])
    #expect(resumed.isError == false, "\(resumed.content)")
    #expect(resumed.structuredContent?.objectValue?["attempt"] == 2)
    try await waitUntilAsync("attempt 2 to succeed") { try await state()["state"] == "succeeded" }
    let final = try await state()
    #expect(final["progress"]?.objectValue?["step"] == 8)
    #expect(final["attempts"]?.arrayValue?.first?.objectValue?["from_step"] == 5)

    let fork = try await call(client, "start_finetune_job", ["from": .string(job), "max_steps": 2])
    #expect(fork.isError == false, "\(fork.content)")
    #expect(fork.structuredContent?.objectValue?["hyperparameters"]?.objectValue?["max_steps"] == 2)
    #expect(fork.structuredContent?.objectValue?["id"]?.stringValue != job)
  }
}

/// Polls an async condition until it holds or the deadline passes.
func waitUntilAsync(_ what: String, timeout: Duration = .seconds(60), _ condition: () async throws -> Bool)
  async throws
{
  let deadline = ContinuousClock.now + timeout
  while try await !condition() {
    if ContinuousClock.now > deadline { throw TimeoutError(what: what) }
    try await Task.sleep(for: .milliseconds(20))
  }
}

@Suite struct MCPDocumentationTests {
  @Test func toolTableInDocsIsCurrent() throws {
    let text = try String(
      contentsOf: TestPaths.repository.appendingPathComponent("docs/mcp.md"), encoding: .utf8)
    #expect(text.contains(MCPDocumentation.toolTable()), "run: vlatune __docs mcp-tools")
  }
}
