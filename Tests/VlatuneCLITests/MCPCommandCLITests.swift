import Foundation
import Testing
import VlatuneTestSupport

/// `vlatune mcp` checks its own arguments, then execs the `vlatune-mcp` server beside it
/// (sessions themselves are tested with a real MCP client in tests-python/test_mcp_stdio.py).
@Suite struct MCPCommandCLITests {
  let directory = TemporaryDirectory("vlatune-mcp-cli")
  var vlatune: VlatuneRunner { VlatuneRunner(home: directory.appending("home")) }

  @Test func argumentsAndPolicyAreCheckedBeforeTheServerStarts() throws {
    let missingPolicy = try vlatune.run(["mcp", "--policy", directory.appending("nope.yaml").path])
    #expect(missingPolicy.status == 66, "\(missingPolicy.standardError)")
    #expect(missingPolicy.standardError.contains("nope.yaml"))
    let unknown = try vlatune.run(["mcp", "--verbose"])
    #expect(unknown.status == 64)
  }

  @Test func theServerExecutableIsFoundBesideVlatune() throws {
    let table = try vlatune.run(["__docs", "mcp-tools"])
    #expect(table.status == 0, "\(table.standardError)")
    #expect(table.standardOutput.contains("| `start_finetune_job` |"))

    // A vlatune binary without its vlatune-mcp: exit 69 naming the missing file.
    let lonely = directory.appending("lonely")
    try FileManager.default.createDirectory(at: lonely, withIntermediateDirectories: true)
    let copy = lonely.appendingPathComponent("vlatune")
    try FileManager.default.copyItem(at: TestPaths.binary, to: copy)
    let result = try ProcessRunner.run(copy.path, ["mcp"], environment: vlatune.fullEnvironment, timeout: 60)
    #expect(result.status == 69)
    #expect(result.standardError.contains(lonely.appendingPathComponent("vlatune-mcp").path), "\(result.standardError)")
  }
}
