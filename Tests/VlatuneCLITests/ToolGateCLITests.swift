import Foundation
import Testing
import VlatuneTestSupport

/// Every tool's CLI twin is admitted through the core gate: allow, deny with its reason, rate
/// limit and default deny, through the built binary; and the catalogue's seed file as the policy.
@Suite(.enabled(if: TestPaths.hasPython), .serialized)
struct ToolGateCLITests {
  static let catalogueSeed = TestPaths.repository
    .appendingPathComponent("Tests/Fixtures/policies/catalogue-seed.yaml").path

  /// One CLI command and the tool it is.
  struct Twin: Sendable, CustomTestStringConvertible {
    var tool: String
    var arguments: @Sendable (_ job: String) -> [String]
    var testDescription: String { "\(tool): \(arguments("JOB").joined(separator: " "))" }
  }

  static let twins: [Twin] = [
    Twin(tool: "get_finetune_job") { ["job", "status", $0] },  // the fast path
    Twin(tool: "get_finetune_job") { ["job", "status", $0, "--watch"] },  // through ArgumentParser
    Twin(tool: "get_finetune_job") { ["job", "wait", $0, "--timeout", "30"] },
    Twin(tool: "get_finetune_job") { ["job", "logs", $0, "--tail", "1"] },
    Twin(tool: "list_finetune_jobs") { _ in ["job", "list"] },
    Twin(tool: "cancel_finetune_job") { ["job", "cancel", $0, "--grace", "1"] },
    Twin(tool: "list_datasets") { _ in ["dataset", "list"] },
    Twin(tool: "get_dataset") { _ in ["dataset", "show", "sample"] },
    Twin(tool: "verify_dataset") { _ in ["dataset", "verify", "sample"] },
    Twin(tool: "remove_dataset") { _ in ["dataset", "rm", "no-such-dataset"] },
  ]

  /// A testbed with one finished job, and a policy file per scenario.
  final class Bed: @unchecked Sendable {
    // @unchecked: one test at a time.
    let bed: JobTestbed
    let job: String
    var policies = 0

    init() throws {
      bed = try JobTestbed()
      job = try bed.start(trainer: JobTestbed.trainer("ok", steps: 1, stepSeconds: 0))
      try bed.waitForState(job, ["succeeded"])
    }

    /// Runs `twin` under `yaml` as `actor`.
    func run(_ twin: Twin, policy yaml: String, actor: String) throws -> ProcessResult {
      policies += 1
      let path = bed.directory.appending("policy-\(policies).yaml")
      try yaml.write(to: path, atomically: true, encoding: .utf8)
      return try bed.run(twin.arguments(job), extra: ["VLATUNE_POLICY": path.path, "VLATUNE_ACTOR": actor])
    }
  }

  @Test(arguments: twins)
  func everyCommandIsAdmittedThroughTheGate(_ twin: Twin) throws {
    let bed = try Bed()
    let admitted: Set<Int32> = twin.tool == "remove_dataset" ? [66] : [0]
    // Allowed: listed under default deny.
    let listed = try bed.run(
      twin, policy: "default: deny\ntools:\n  \(twin.tool): {rules: []}\n", actor: "cli:allow")
    #expect(admitted.contains(listed.status), "\(listed.standardError)")

    // Denied with its reason.
    let denied = try bed.run(
      twin,
      policy: "tools:\n  \(twin.tool):\n    rules: [{name: closed, action: deny, on_deny: \"ask the lab manager\"}]\n",
      actor: "cli:deny")
    #expect(denied.status == 77)
    #expect(denied.standardError.contains("\(twin.tool) is denied by the policy"))
    #expect(denied.standardError.contains("rule 'closed': ask the lab manager"))

    // Rate-limited: the second call in the window is refused with when to retry.
    let limit = "tools:\n  \(twin.tool):\n    rules: [{rate_limit: 1/minute}]\n"
    #expect(admitted.contains(try bed.run(twin, policy: limit, actor: "cli:limit").status))
    let limited = try bed.run(twin, policy: limit, actor: "cli:limit")
    #expect(limited.status == 75)
    #expect(limited.standardError.contains("at most 1 \(twin.tool) call(s) per 60 s for cli:limit"))

    // Default deny: a tool the policy does not list is refused, whatever `*` says.
    let unlisted = try bed.run(
      twin, policy: "default: deny\ntools:\n  \"*\":\n    rules: [{rate_limit: 100/minute}]\n",
      actor: "cli:default")
    #expect(unlisted.status == 77)
    #expect(unlisted.standardError.contains("default: deny"))

    // Hidden.
    let hidden = try bed.run(twin, policy: "hide: [\(twin.tool)]\n", actor: "cli:hide")
    #expect(hidden.status == 77 && hidden.standardError.contains("hidden"))

    // Every decision above is in the audit log under the tool's name.
    let audit = try String(
      contentsOf: bed.bed.vlatune.home.appendingPathComponent("audit.jsonl"), encoding: .utf8)
    let decisions = audit.split(separator: "\n").compactMap {
      try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }.filter { $0["tool"] as? String == twin.tool }.map { "\($0["actor"] ?? "")/\($0["decision"] ?? "")" }
    for expected in [
      "cli:allow/allowed", "cli:deny/refused", "cli:limit/allowed", "cli:limit/refused", "cli:default/refused",
      "cli:hide/refused",
    ] {
      #expect(decisions.contains(expected), "\(decisions)")
    }
  }

  /// The CLI twin sends only what was given, as an MCP caller does, so a condition on an
  /// argument's presence means the same from both; a dry run is on record.
  @Test func theCLISendsOnlyTheArgumentsGiven() throws {
    let bed = try Bed()
    let policy = """
      tools:
        list_finetune_jobs:
          rules: [{conditions: [{path: args.limit, op: exists, value: false}], on_deny: no limits please}]
        cancel_finetune_job:
          rules: [{conditions: [{path: args.grace_seconds, op: exists, value: false}]}]
        start_finetune_job:
          rules: [{conditions: [{path: args.dry_run, op: exists, value: true}], on_deny: dry runs only}]
      """
    let list = Twin(tool: "list_finetune_jobs") { _ in ["job", "list"] }
    #expect(try bed.run(list, policy: policy, actor: "cli:a").status == 0)
    let limited = Twin(tool: "list_finetune_jobs") { _ in ["job", "list", "--limit", "5"] }
    let refused = try bed.run(limited, policy: policy, actor: "cli:a")
    #expect(refused.status == 77 && refused.standardError.contains("no limits please"))
    let cancel = Twin(tool: "cancel_finetune_job") { ["job", "cancel", $0] }
    #expect(try bed.run(cancel, policy: policy, actor: "cli:a").status == 0)
    let dry = Twin(tool: "start_finetune_job") { _ in JobTestbedArguments.start + ["--dry-run", "--json"] }
    let dryRun = try bed.run(dry, policy: policy, actor: "cli:a")
    #expect(dryRun.status == 0, "\(dryRun.standardError)")
    let real = Twin(tool: "start_finetune_job") { _ in JobTestbedArguments.start }
    #expect(try bed.run(real, policy: policy, actor: "cli:a").status == 77)
    let audit = try String(
      contentsOf: bed.bed.vlatune.home.appendingPathComponent("audit.jsonl"), encoding: .utf8)
    #expect(audit.contains("\"decision\":\"dry_run\""))
  }

  @Test func theCatalogueSeedGovernsPrepareStartAndTwentyFourConcurrentStarts() throws {
    let bed = try JobTestbed()
    // $VLATUNE_HOME/policy.yaml, byte for byte.
    try FileManager.default.copyItem(
      atPath: Self.catalogueSeed, toPath: bed.vlatune.home.appendingPathComponent("policy.yaml").path)
    let shown = try bed.vlatune.run(["policy", "show", "--json"])
    #expect(
      (try shown.json()["policy"] as? [String: Any])?["source"] as? String
        == bed.vlatune.home.appendingPathComponent("policy.yaml").path)
    let source = try SampleData.copy(into: bed.directory.url, name: "again")
    #expect(try bed.vlatune.run(["dataset", "prepare", source.path, "--name", "again", "--quiet"]).status == 0)
    // A missing base model is refused before admission by the parameter table (the seed's
    // validate.required_args asks the same; ToolGateTests tests that rule on its own).
    let missing = try bed.run(["job", "start", "--dataset", "sample", "--json"])
    #expect(missing.status == 64)
    #expect((try missing.json()["error"] as? [String: Any])?["param"] as? String == "base_model")

    var runner = bed.vlatune
    runner.environment["VLATUNE_TRAINER"] = JobTestbed.trainer("ok", steps: 1, stepSeconds: 0)
    runner.environment["VLATUNE_POLICY"] = Self.catalogueSeed
    let processes = try (0..<24).map { _ in
      try runner.start(["job", "start", "--base-model", "tiny-vla", "--dataset", "sample", "--json"])
    }
    let results = try processes.map { try $0.wait(timeout: 120) }
    let admitted = results.filter { $0.status == 0 }
    let refused = results.filter { $0.status == 75 }
    #expect(admitted.count == 10, "\(results.map(\.status))")
    #expect(refused.count == 14)
    for result in refused {
      let error = try #require(try result.json()["error"] as? [String: Any])
      #expect(error["code"] as? String == "rate_limited")
      let retry = try #require(error["retry_after_seconds"] as? Double)
      #expect(retry > 0 && retry <= 60, "\(retry)")
    }
  }
}
