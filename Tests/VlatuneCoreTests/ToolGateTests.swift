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

/// The one gate: Intercept's evaluation order, vlatune's sliding windows per actor, and an
/// audit row for every decision.
@Suite struct ToolGateTests {
  /// A fresh state directory and a gate under `yaml`, with a clock the test moves.
  final class Bed: @unchecked Sendable {
    // @unchecked: one test at a time; `clock` is only moved between calls.
    let directory = TemporaryDirectory("vlatune-gate")
    let context: VlatuneContext
    var clock = Date(timeIntervalSince1970: 1_800_000_000)
    var gate: ToolGate!

    init(_ yaml: String) throws {
      context = try VlatuneContext.open(environment: ["VLATUNE_HOME": directory.appending("home").path])
      let policy = try PolicyLoader.load(yaml, source: "policy.yaml")
      gate = ToolGate(context: context, policy: policy, now: { [unowned self] in self.clock })
    }

    /// The refusal's code and message, or `nil` when admitted.
    func call(_ tool: String, actor: String = "cli:ann", _ arguments: [String: JSONValue] = [:])
      -> VlatuneError?
    {
      do {
        try gate.admit(tool, actor: actor, arguments: arguments, reference: nil)
        return nil
      } catch let error as VlatuneError {
        return error
      } catch {
        Issue.record("unexpected \(error)")
        return .internalError(message: "\(error)")
      }
    }

    func auditRows() throws -> [Row] {
      try context.store.read { try Row.fetchAll($0, sql: "SELECT * FROM audit_log ORDER BY id") }
    }
  }

  @Test func defaultDenyRefusesUnlistedToolsBeforeWildcardRules() throws {
    let bed = try Bed(
      """
      default: deny
      tools:
        list_datasets: {rules: []}
        "*":
          rules: [{name: everything, rate_limit: 100/minute}]
      """)
    #expect(bed.call("list_datasets") == nil)
    let refused = try #require(bed.call("cancel_finetune_job", ["job": .string("job_1")]))
    #expect(refused.exitStatus == 77)
    #expect(refused.message.contains("default: deny"))
  }

  @Test func hiddenToolsAreRefusedWhateverTheirRules() throws {
    let bed = try Bed("hide: [remove_dataset]\ntools:\n  remove_dataset: {rules: []}\n")
    let refused = try #require(bed.call("remove_dataset", ["dataset": .string("d")]))
    #expect(refused.code == "policy_denied" && refused.message.contains("hidden"))
    #expect(bed.call("get_dataset", ["dataset": .string("d")]) == nil)
  }

  @Test func rulesRunInOrderAndTheFirstRefusalSpeaks() throws {
    let bed = try Bed(
      """
      tools:
        cancel_finetune_job:
          rules:
            - name: only with a reason
              conditions: [{path: args.reason, op: exists, value: true}]
              on_deny: "say why you cancel (reason)"
            - name: closed
              action: deny
              on_deny: "cancels are closed today"
      """)
    let first = try #require(bed.call("cancel_finetune_job", ["job": .string("job_1")]))
    #expect(first.message.contains("rule 'only with a reason': say why you cancel (reason)"))
    #expect(first.message.contains("args.reason exists true does not hold (reason is absent)"))
    let second = try #require(
      bed.call("cancel_finetune_job", ["job": .string("job_1"), "reason": .string("bad lr")]))
    #expect(second.message.hasSuffix("rule 'closed': cancels are closed today"))
  }

  @Test func requiredArgumentsOfToolsWithoutATable() throws {
    let bed = try Bed("tools:\n  get_finetune_job:\n    rules: [{validate: {required_args: true}}]\n")
    let refused = try #require(bed.call("get_finetune_job", ["job": .string("  ")]))
    #expect(refused.exitStatus == 64 && refused.message.contains("job is required"))
    #expect(bed.call("get_finetune_job", ["job": .string("job_1")]) == nil)
  }

  @Test func wildcardLimitsCountEveryToolTogetherPerActor() throws {
    let bed = try Bed("tools:\n  \"*\":\n    rules: [{name: global, rate_limit: 3/minute, on_deny: slow down}]\n")
    #expect(bed.call("list_datasets") == nil)
    #expect(bed.call("list_finetune_jobs") == nil)
    bed.clock += 10
    #expect(bed.call("get_finetune_job", ["job": .string("job_1")]) == nil)
    let limited = try #require(bed.call("list_datasets"))
    #expect(limited.exitStatus == 75)
    #expect(limited.message.hasPrefix("slow down (at most 3 tool call(s) of any tool per 60 s for cli:ann"))
    let retry = try #require(limited.retryAfterSeconds)
    #expect(retry > 0 && retry <= 60)
    #expect(abs(retry - 50) < 0.01)  // the first admissions leave the window 60 s after they were made
    #expect(bed.call("list_datasets", actor: "cli:bob") == nil)  // another actor has its own window
    bed.clock += 50.001
    #expect(bed.call("list_datasets") == nil)  // exactly when the first left the window
  }

  @Test func aToolsOwnLimitIsPerToolAndRefusedCallsSpendNothing() throws {
    let bed = try Bed(
      """
      tools:
        list_datasets:
          rules: [{rate_limit: {max: 1, window: 60}}]
        get_finetune_job:
          rules:
            - rate_limit: 1/minute
            - conditions: [{path: args.job, op: regex, value: "^job_"}]
      """)
    #expect(bed.call("list_datasets") == nil)
    #expect(bed.call("list_datasets")?.code == "rate_limited")
    // The limit's rule passes before the condition's refuses: the refusal must not keep the slot.
    #expect(bed.call("get_finetune_job", ["job": .string("nope")])?.code == "policy_denied")
    #expect(bed.call("get_finetune_job", ["job": .string("job_1")]) == nil)
    #expect(bed.call("get_finetune_job", ["job": .string("job_1")])?.code == "rate_limited")
  }

  @Test func everyDecisionIsAuditedWithTheArgumentsHashedOnly() throws {
    let bed = try Bed("tools:\n  cancel_finetune_job:\n    rules: [{action: deny, on_deny: no}]\n")
    _ = bed.call("list_datasets")
    _ = bed.call("cancel_finetune_job", ["job": .string("job_secret")])
    // An allowed read with no counter is in the file only; the refusal is a row as well.
    let rows = try bed.auditRows()
    #expect(rows.map { $0["tool"] as String } == ["cancel_finetune_job"])
    #expect(rows.map { $0["decision"] as String } == ["refused"])
    #expect(rows.last?["code"] as String? == "policy_denied")
    let file = try String(contentsOf: bed.context.home.root.appendingPathComponent("audit.jsonl"), encoding: .utf8)
    #expect(file.split(separator: "\n").count == 2)
    #expect(!file.contains("job_secret"))
    #expect(rows.last?["args_sha256"] as String? == AuditLog.fingerprint(["job": .string("job_secret")]))
  }

  /// A read that a rate limit counts is decided in a transaction, and recorded as a row.
  @Test func aCountedReadIsARow() throws {
    let bed = try Bed("tools:\n  list_datasets:\n    rules: [{rate_limit: 5/minute}]\n")
    #expect(bed.call("list_datasets") == nil)
    #expect(try bed.auditRows().map { $0["decision"] as String } == ["allowed"])
    let counted = try bed.context.store.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM rate_events") }
    #expect(counted == 1)
  }
}
