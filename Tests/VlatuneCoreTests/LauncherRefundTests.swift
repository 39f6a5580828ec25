import Foundation
import GRDB
import Testing
import VlatuneTestSupport

@testable import VlatuneArchive
@testable import VlatuneCore
@testable import VlatuneDatasets
@testable import VlatuneFormats
@testable import VlatuneGuardrails
@testable import VlatuneJobs
@testable import VlatuneStore
@testable import VlatuneSupport

/// A start whose watcher cannot be spawned never started: it is recorded as failed and gives its
/// rate-limit slot (and idempotency key) back.
@Suite(.enabled(if: TestPaths.hasPython)) struct LauncherRefundTests {
  @Test func spawnFailureRefundsTheRateLimitSlot() throws {
    let fixture = try PrepareFixture()
    _ = try fixture.prepare()
    let context = try VlatuneContext.open(environment: [
      "VLATUNE_HOME": fixture.home.root.path, "PATH": "/usr/bin:/bin",
    ])
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

/// A resume whose watcher cannot be spawned is undone: the job is back as it was (state, attempt,
/// spec.json, checkpoints), its admission refunded, and job_events says why.
@Suite(.enabled(if: TestPaths.hasPython)) struct ResumeRefundTests {
  @Test func aResumeThatCannotStartLeavesTheJobAsItWas() throws {
    let fixture = try PrepareFixture()
    _ = try fixture.prepare()
    let script = TestPaths.repository.appendingPathComponent("Tests/Fixtures/fake_trainer.py").path
    let context = try VlatuneContext.open(environment: [
      "VLATUNE_HOME": fixture.home.root.path, "PATH": "/usr/bin:/bin",
      "VLATUNE_TRAINER": "\(TestPaths.python!) \(script) --steps 0 --step-seconds 0",
    ])
    var policy = Policy.builtin
    policy.tools["resume_finetune_job"] = [
      .init(action: "allow", reason: nil, rateLimit: .init(max: 1, window: 3600), requiredArgs: true)
    ]
    let launcher = JobLauncher(context: context, policy: policy, watcherExecutable: TestPaths.binary.path)
    let started = try launcher.start(
      ["base_model": .string("tiny-vla"), "dataset": .string("sample"), "max_steps": .number(5)], actor: "cli:test")
    let id = try #require(started.document?.id)
    let jobs = JobStore(store: context.store)
    try waitUntil("job \(id) to succeed") { try jobs.record(id)?.state == .succeeded }
    let before = try #require(try jobs.record(id))
    let specBefore = try String(contentsOfFile: before.jobDir + "/spec.json", encoding: .utf8)

    let broken = JobResumer(context: context, policy: policy, watcherExecutable: "/nonexistent/vlatune")
    #expect {
      try broken.resume(["job": .string(id), "max_steps": .number(8)], actor: "cli:test")
    } throws: { error in
      (error as? VlatuneError)?.exitStatus == 69
    }
    let after = try #require(try jobs.record(id))
    #expect(after.state == .succeeded && after.attempt == 1 && after.finishedAt == before.finishedAt)
    #expect(after.spec == before.spec && after.progress == before.progress)
    // spec.json is written back when the refund commits, before the resume returns its error.
    let specAfter = try String(contentsOfFile: before.jobDir + "/spec.json", encoding: .utf8)
    #expect(!specAfter.contains("\"resume\"") && specBefore.contains("\"max_steps\" : 5"))
    #expect(specAfter.contains("\"max_steps\" : 5"))
    #expect(try jobs.checkpoints(id).map(\.step) == [5])
    let counts = try context.store.read { database in
      (
        try Int.fetchOne(database, sql: "SELECT COUNT(*) FROM job_attempts") ?? -1,
        try Int.fetchOne(database, sql: "SELECT COUNT(*) FROM rate_events WHERE scope LIKE 'resume_finetune_job|%'")
          ?? -1,
        try String.fetchOne(
          database, sql: "SELECT outcome FROM audit_log WHERE tool = 'resume_finetune_job' ORDER BY id DESC LIMIT 1")
      )
    }
    #expect(counts.0 == 0 && counts.1 == 0 && counts.2 == "refunded")
    let last = try #require(try jobs.events(id).last)
    #expect(last.to == "succeeded" && last.detail?.contains("resume attempt 2 could not start") == true)
    // The refunded slot admits the next resume, which runs.
    let working = JobResumer(context: context, policy: policy, watcherExecutable: TestPaths.binary.path)
    let resumed = try working.resume(["job": .string(id), "max_steps": .number(8)], actor: "cli:test")
    #expect(resumed.attempt == 2)
    try waitUntil("attempt 2 to succeed") { try jobs.record(id)?.state == .succeeded }
    let lifecycle = try jobs.events(id).map { "\($0.from ?? "-")>\($0.to)" }
    #expect(lifecycle.suffix(4) == ["succeeded>queued", "queued>starting", "starting>running", "running>succeeded"])
    #expect(try jobs.events(id).contains { $0.detail == "resume attempt 2 from step 5 (max_steps 8)" })
    #expect(try jobs.checkpoints(id).map(\.step) == [5, 8])
  }
}
