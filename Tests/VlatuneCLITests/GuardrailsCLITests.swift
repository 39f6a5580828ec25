import Foundation
import Synchronization
import Testing
import VlatuneTestSupport

/// Policy, rate limits, idempotency, caps, budgets and audit through the built binary, with
/// many processes where it matters.
@Suite(.enabled(if: TestPaths.hasPython), .serialized)
struct GuardrailsCLITests {
  static let startArguments = ["job", "start", "--base-model", "tiny-vla", "--dataset", "sample"]

  /// Runs `count` commands with at most `parallel` in flight.
  static func runMany(
    _ bed: JobTestbed, count: Int, parallel: Int, trainer: String, arguments: @Sendable (Int) -> [String]
  ) throws -> [ProcessResult] {
    var runner = bed.vlatune
    runner.environment["VLATUNE_TRAINER"] = trainer
    var results: [ProcessResult] = []
    var running: [ProcessRunner.Running] = []
    var next = 0
    while next < count || !running.isEmpty {
      while next < count && running.count < parallel {
        running.append(try runner.start(arguments(next)))
        next += 1
      }
      results.append(try running.removeFirst().wait(timeout: 120))
    }
    return results
  }

  @Test(arguments: 1...5)
  func sixtyFourConcurrentStartsAdmitExactlyTheLimit(_ repetition: Int) throws {
    let bed = try JobTestbed(
      policy: """
        version: 1
        tools:
          start_finetune_job:
            rules: [{action: allow, rate_limit: {max: 10, window: 60}}]
        limits: {max_running_jobs: 64, max_queued_jobs: 64}
        """)
    let results = try Self.runMany(
      bed, count: 64, parallel: 16, trainer: JobTestbed.trainer("ok", steps: 1, stepSeconds: 0)
    ) { _ in Self.startArguments + ["--quiet"] }
    let admitted = results.filter { $0.status == 0 }
    let limited = results.filter { $0.status == 75 }
    #expect(admitted.count == 10, "repetition \(repetition)")
    #expect(limited.count == 54)
    #expect(results.allSatisfy { !$0.standardError.lowercased().contains("database") })
    #expect(limited.allSatisfy { $0.standardError.contains("rate limit reached") })
    let list = try bed.vlatune.run(["job", "list", "--json", "--limit", "100"])
    #expect((try list.json()["jobs"] as? [Any])?.count == 10)
  }

  @Test func aJobAboveTheGPUsMemoryIsRefusedUnlessForced() throws {
    let bed = try JobTestbed(environment: ["VLATUNE_GPU_COUNT": "1", "VLATUNE_GPU_MEMORY_MB": "1024"])
    let trainer = JobTestbed.trainer("ok", steps: 1, stepSeconds: 0)
    let big = Self.startArguments + ["--gpus", "1", "--batch-size", "4096"]
    let refused = try bed.run(big + ["--json"], trainer: trainer)
    #expect(refused.status == 69)
    let error = try #require(try refused.json()["error"] as? [String: Any])
    #expect(error["code"] as? String == "resource_unavailable")
    let message = try #require(error["message"] as? String)
    #expect(message.contains("estimated to need") && message.contains("batch_size"))
    #expect(message.contains("gradient_checkpointing") && message.contains("force"))
    let none = try bed.vlatune.run(["job", "list", "--json"])
    #expect((try none.json()["jobs"] as? [Any])?.isEmpty == true, "no job row for a refused start")

    let dry = try bed.run(big + ["--dry-run", "--json"], trainer: trainer)
    #expect(dry.status == 69)
    let report = try dry.json()
    #expect(report["would_start"] as? Bool == false)
    let spec = try #require(report["spec"] as? [String: Any])
    let estimate = try #require(spec["memory_estimate"] as? [String: Any])
    #expect(estimate["gpu_memory_bytes"] as? Int == 1024 << 20)
    #expect((estimate["total_bytes"] as? Int ?? 0) > 1024 << 20)

    let forced = try bed.run(big + ["--force", "--json"], trainer: trainer)
    #expect(forced.status == 0, "\(forced.standardError)")
    let fits = try bed.run(Self.startArguments + ["--gpus", "1", "--batch-size", "1", "--json"], trainer: trainer)
    #expect(fits.status == 0, "\(fits.standardError)")
  }

  @Test func lerobotOnlyParametersAreRefusedForOtherBaseModels() throws {
    let bed = try JobTestbed()
    let refused = try bed.run(Self.startArguments + ["--image-map", "top=front", "--tokenizer", "/tmp", "--json"])
    #expect(refused.status == 64)
    let error = try #require(try refused.json()["error"] as? [String: Any])
    let problems = try #require(error["problems"] as? [[String: Any]])
    #expect(problems.compactMap { $0["param"] as? String } == ["image_map", "tokenizer"])
    let message = try #require(problems.first?["message"] as? String)
    #expect(message.contains("LeRobot policy checkpoints only"))
    let none = try bed.vlatune.run(["job", "list", "--json"])
    #expect((try none.json()["jobs"] as? [Any])?.isEmpty == true)
  }

  @Test func thePolicyChoosesAndLimitsExecutors() throws {
    let localOnly = try JobTestbed(policy: "version: 1\nlimits: {executors: [local]}\n")
    let denied = try localOnly.run(Self.startArguments + ["--executor", "slurm", "--json"])
    #expect(denied.status == 77)
    let error = try #require(try denied.json()["error"] as? [String: Any])
    #expect((error["message"] as? String ?? "").contains("executor 'slurm' is not allowed"))

    let slurmByDefault = try JobTestbed(policy: "version: 1\nlimits: {default_executor: slurm}\n")
    let dry = try slurmByDefault.run(Self.startArguments + ["--dry-run", "--json"])
    let spec = try #require(try dry.json()["spec"] as? [String: Any])
    #expect(spec["executor"] as? String == "slurm")
    let explicit = try slurmByDefault.run(Self.startArguments + ["--executor", "local", "--dry-run", "--json"])
    #expect((try explicit.json()["spec"] as? [String: Any])?["executor"] as? String == "local")

    let bad = localOnly.directory.appending("executors.yaml")
    try "version: 1\nlimits:\n  executors: [local, kubernetes]\n  default_executor: cloud\n"
      .write(to: bad, atomically: true, encoding: .utf8)
    let check = try localOnly.vlatune.run(["policy", "check", bad.path, "--json"])
    #expect(check.status == 64)
    let problems = try #require((try check.json()["error"] as? [String: Any])?["policy_problems"] as? [[String: Any]])
    #expect(problems.compactMap { $0["line"] as? Int }.sorted() == [3, 4])
  }

  @Test func twentyConcurrentStartsWithOneKeyCreateOneJob() throws {
    let bed = try JobTestbed()
    let results = try Self.runMany(
      bed, count: 20, parallel: 20, trainer: JobTestbed.trainer("ok", steps: 1, stepSeconds: 0)
    ) { _ in Self.startArguments + ["--idempotency-key", "train-run-42", "--json"] }
    #expect(results.allSatisfy { $0.status == 0 }, "\(results.map(\.standardError))")
    let documents = try results.map { try $0.json() }
    #expect(Set(documents.compactMap { $0["id"] as? String }).count == 1)
    #expect(documents.filter { $0["replayed"] as? Bool == true }.count == 19)
    let list = try bed.vlatune.run(["job", "list", "--json"])
    #expect((try list.json()["jobs"] as? [Any])?.count == 1)
  }

  @Test func keyWithADifferentRequestConflictsAndReplaysSpendNoRateSlot() throws {
    let bed = try JobTestbed(
      policy: "version: 1\ntools:\n  start_finetune_job:\n    rules: [{rate_limit: 2/minute}]\n")
    let trainer = JobTestbed.trainer("ok", steps: 1, stepSeconds: 0)
    let first = try bed.run(Self.startArguments + ["--idempotency-key", "k1", "--json"], trainer: trainer)
    #expect(first.status == 0)
    for _ in 0..<3 {
      let replay = try bed.run(Self.startArguments + ["--idempotency-key", "k1", "--json"], trainer: trainer)
      #expect(replay.status == 0)
      #expect(try replay.json()["replayed"] as? Bool == true)
    }
    let conflict = try bed.run(
      Self.startArguments + ["--idempotency-key", "k1", "--lora-rank", "8", "--json"], trainer: trainer)
    #expect(conflict.status == 64)
    #expect((try conflict.json()["error"] as? [String: Any])?["code"] as? String == "idempotency_conflict")
    // One slot of two used by the first start; replays used none.
    #expect(try bed.run(Self.startArguments + ["--quiet"], trainer: trainer).status == 0)
    let limited = try bed.run(Self.startArguments + ["--json"], trainer: trainer)
    #expect(limited.status == 75)
    let error = try #require(try limited.json()["error"] as? [String: Any])
    #expect(error["code"] as? String == "rate_limited")
    let retry = try #require(error["retry_after_seconds"] as? Double)
    #expect(retry > 50 && retry <= 60)
  }

  @Test func dryRunConsumesNothing() throws {
    let bed = try JobTestbed(
      policy: "version: 1\ntools:\n  start_finetune_job:\n    rules: [{rate_limit: {max: 1, window: 3600}}]\n")
    let trainer = JobTestbed.trainer("ok", steps: 1, stepSeconds: 0)
    for _ in 0..<3 {
      let dry = try bed.run(Self.startArguments + ["--dry-run", "--json"], trainer: trainer)
      #expect(dry.status == 0)
      let report = try dry.json()
      #expect(report["would_start"] as? Bool == true)
      #expect((report["spec"] as? [String: Any])?["base_model"] as? String == "tiny-vla")
      #expect((report["parameters"] as? [String: Any])?["lora_rank"] as? Int == 32)
    }
    #expect(try bed.vlatune.run(["job", "list", "--json"]).json()["jobs"] as? [Any] != nil)
    #expect(try bed.run(Self.startArguments + ["--quiet"], trainer: trainer).status == 0)
    let dry = try bed.run(Self.startArguments + ["--dry-run", "--json"], trainer: trainer)
    #expect(dry.status == 75)
    #expect((try dry.json()["refusal"] as? [String: Any])?["code"] as? String == "rate_limited")
  }

  @Test func policyDenialsAre77() throws {
    let denied = try JobTestbed(
      policy:
        "version: 1\ntools:\n  start_finetune_job:\n    rules: [{action: deny, reason: GPUs reserved for the demo}]\n")
    let result = try denied.run(Self.startArguments + ["--json"])
    #expect(result.status == 77)
    let error = try #require(try result.json()["error"] as? [String: Any])
    #expect(error["code"] as? String == "policy_denied")
    #expect((error["message"] as? String)?.contains("GPUs reserved for the demo") == true)

    let models = try JobTestbed(policy: "version: 1\nlimits: {base_models: [\"openvla-*\"]}\n")
    #expect(try models.run(Self.startArguments).status == 77)

    let roots = try JobTestbed()
    let rootsPolicy = roots.directory.appending("roots.yaml")
    try "version: 1\nlimits: {dataset_roots: [\"/nonexistent-root\"]}\n".write(
      to: rootsPolicy, atomically: true, encoding: .utf8)
    let source = try SampleData.copy(into: roots.directory.url, name: "elsewhere")
    let prepare = try roots.vlatune.run(
      ["dataset", "prepare", source.path, "--policy", rootsPolicy.path, "--json"])
    #expect(prepare.status == 77)
    #expect((try prepare.json()["error"] as? [String: Any])?["message"] as? String != nil)
  }

  @Test func prepareDatasetIsRateLimitedToo() throws {
    let bed = try JobTestbed(
      policy: "version: 1\ntools:\n  prepare_dataset:\n    rules: [{rate_limit: {max: 2, window: 3600}}]\n")
    // The testbed's own prepare used the first slot.
    let source = try SampleData.copy(into: bed.directory.url, name: "again")
    #expect(try bed.vlatune.run(["dataset", "prepare", source.path, "--name", "second", "--quiet"]).status == 0)
    let third = try bed.vlatune.run(["dataset", "prepare", source.path, "--name", "third", "--json"])
    #expect(third.status == 75)
    let error = try #require(try third.json()["error"] as? [String: Any])
    #expect(error["code"] as? String == "rate_limited")
    #expect(((error["retry_after_seconds"] as? Double) ?? 0) > 3500)
    #expect(try bed.vlatune.run(["dataset", "show", "third"]).status == 66)
  }

  @Test func queueCapIsConcurrencyLimited() throws {
    let bed = try JobTestbed(policy: "version: 1\nlimits: {max_running_jobs: 1, max_queued_jobs: 1}\n")
    let long = JobTestbed.trainer("ok", steps: 100_000)
    let first = try bed.start(trainer: long)
    let second = try bed.start(trainer: long)
    let third = try bed.run(Self.startArguments + ["--json"], trainer: long)
    #expect(third.status == 75)
    #expect((try third.json()["error"] as? [String: Any])?["code"] as? String == "concurrency_limited")
    _ = try bed.vlatune.run(["job", "cancel", second, "--grace", "5"])
    _ = try bed.vlatune.run(["job", "cancel", first, "--grace", "5"])
  }

  @Test func gpuBudgetIsEnforcedPerActor() throws {
    let bed = try JobTestbed(
      environment: ["VLATUNE_GPU_COUNT": "1"],
      policy: "version: 1\nlimits: {gpu_hours_per_day: 3, step_seconds: 3600}\n")
    let trainer = JobTestbed.trainer("ok", steps: 1, stepSeconds: 0)
    let first = try bed.run(Self.startArguments + ["--gpus", "1", "--max-steps", "2", "--quiet"], trainer: trainer)
    #expect(first.status == 0, "\(first.standardError)")
    let second = try bed.run(Self.startArguments + ["--gpus", "1", "--max-steps", "2", "--json"], trainer: trainer)
    #expect(second.status == 75)
    let error = try #require(try second.json()["error"] as? [String: Any])
    #expect(error["code"] as? String == "budget_exhausted")
    #expect(((error["retry_after_seconds"] as? Double) ?? 0) > 86_000)
    // Another actor has its own budget; a CPU job uses none.
    #expect(
      try bed.run(
        Self.startArguments + ["--gpus", "1", "--max-steps", "2", "--actor", "cli:other", "--quiet"], trainer: trainer
      ).status == 0)
    #expect(
      try bed.run(Self.startArguments + ["--gpus", "0", "--max-steps", "2", "--quiet"], trainer: trainer).status == 0)
    let tooBig = try bed.run(Self.startArguments + ["--gpus", "1", "--max-steps", "4"], trainer: trainer)
    #expect(tooBig.status == 77)
  }

  @Test func everyDecisionIsAuditedWithoutRawArguments() throws {
    let bed = try JobTestbed(
      policy: "version: 1\ntools:\n  start_finetune_job:\n    rules: [{rate_limit: 1/hour}]\n")
    let trainer = JobTestbed.trainer("ok", steps: 1, stepSeconds: 0)
    _ = try bed.run(Self.startArguments + ["--idempotency-key", "secret-key-value"], trainer: trainer)
    _ = try bed.run(Self.startArguments, trainer: trainer)
    _ = try bed.run(Self.startArguments + ["--lora-rank", "0"], trainer: trainer)
    let text = try String(
      contentsOf: bed.vlatune.home.appendingPathComponent("audit.jsonl"), encoding: .utf8)
    let entries = text.split(separator: "\n").map {
      try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
    }
    let decisions = entries.filter { $0["tool"] as? String == "start_finetune_job" }
      .map { "\($0["decision"]!)/\($0["code"] ?? "-")" }
    #expect(decisions == ["allowed/-", "refused/rate_limited", "refused/invalid_argument"])
    #expect(!text.contains("secret-key-value"))
    #expect(entries.allSatisfy { ($0["args_sha256"] as? String)?.count == 64 && $0["policy"] != nil })
    #expect(entries.contains { $0["tool"] as? String == "prepare_dataset" && $0["decision"] as? String == "allowed" })
  }

  @Test func policyCommands() throws {
    let bed = try JobTestbed()
    let show = try bed.vlatune.run(["policy", "show", "--json"])
    let policy = try #require(try show.json()["policy"] as? [String: Any])
    #expect(policy["source"] as? String == "builtin")
    let seed = TestPaths.repository.appendingPathComponent("Tests/Fixtures/policies/seed.yaml").path
    #expect(try bed.vlatune.run(["policy", "check", seed]).status == 0)
    let shown = try bed.vlatune.run(["policy", "show", seed, "--json"])
    let seedPolicy = try #require(try shown.json()["policy"] as? [String: Any])
    #expect((seedPolicy["limits"] as? [String: Any])?["dataset_roots"] as? [String] == ["~"])
    let bad = bed.directory.appending("bad.yaml")
    try "version: 1\nlimits:\n  max_running: 2\ntools:\n  start_finetune_job:\n    rules: [{action: maybe}]\n"
      .write(to: bad, atomically: true, encoding: .utf8)
    let check = try bed.vlatune.run(["policy", "check", bad.path, "--json"])
    #expect(check.status == 64)
    let problems = try #require((try check.json()["error"] as? [String: Any])?["policy_problems"] as? [[String: Any]])
    #expect(problems.compactMap { $0["line"] as? Int }.sorted() == [3, 6])
  }

  @Test func invalidParametersAreAllReportedInJSON() throws {
    let bed = try JobTestbed()
    let result = try bed.run(
      ["job", "start", "--dataset", "sample", "--lora-rank", "abc", "--precision", "fp8", "--json"])
    #expect(result.status == 64)
    let error = try #require(try result.json()["error"] as? [String: Any])
    let problems = try #require(error["problems"] as? [[String: Any]])
    #expect(Set(problems.compactMap { $0["param"] as? String }) == ["base_model", "lora_rank", "precision"])
    #expect(error["param"] as? String == "base_model")
  }
}
