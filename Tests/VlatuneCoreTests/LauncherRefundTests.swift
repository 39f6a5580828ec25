import Foundation
import GRDB
import Testing
import VlatuneTestSupport

@testable import VlatuneCore

/// A start whose watcher cannot be spawned never started: it is recorded as failed and gives its
/// rate-limit slot (and idempotency key) back.
@Suite(.enabled(if: TestPaths.hasPython)) struct LauncherRefundTests {
  @Test func spawnFailureRefundsTheRateLimitSlot() throws {
    let fixture = try PrepareFixture()
    _ = try fixture.prepare()
    let context = try VlatuneContext.open(environment: ["VLATUNE_HOME": fixture.home.root.path, "PATH": "/usr/bin:/bin"])
    var policy = Policy.builtin
    policy.tools["start_finetune_job"] = [
      .init(action: "allow", reason: nil, rateLimit: .init(max: 1, window: 3600), requiredArgs: true)
    ]
    let broken = JobLauncher(context: context, policy: policy, watcherExecutable: "/nonexistent/vlatune")
    let arguments: [String: JSONValue] = [
      "base_model": .string("tiny-vla"), "dataset": .string("sample"), "idempotency_key": .string("k"),
    ]
    #expect {
      try broken.start(arguments, actor: "cli:test")
    } throws: { error in
      (error as? VlatuneError)?.exitStatus == 69
    }
    let jobs = try context.store.read { try JobRecord.fetchAll($0) }
    #expect(jobs.count == 1 && jobs[0].state == .failed && jobs[0].errorCode == "spawn_failed")
    let slots = try context.store.read {
      try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM rate_events WHERE scope LIKE 'start_finetune_job|%'")
    }
    #expect(slots == 0)
    let keys = try context.store.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM idempotency_keys") }
    #expect(keys == 0)
    // The refunded slot admits the next start (a dry run shows it without spawning anything).
    guard case .dryRun(let report) = try broken.start(arguments, actor: "cli:test", dryRun: true) else {
      Issue.record("expected a dry-run report")
      return
    }
    #expect(report.wouldStart)
  }
}
