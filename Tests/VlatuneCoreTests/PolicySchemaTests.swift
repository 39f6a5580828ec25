import Foundation
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

/// Policy files as their authors write them: the catalogue's seed, Intercept's schema (from its
/// POLICY.md and `internal/config`), and what vlatune refuses because it cannot honour it.
@Suite struct PolicySchemaTests {
  static let fixtures = TestPaths.repository.appendingPathComponent("Tests/Fixtures/policies")
  static let catalogueSeed = fixtures.appendingPathComponent("catalogue-seed.yaml").path

  static func intercept(_ name: String) throws -> Policy {
    try PolicyLoader.load(file: fixtures.appendingPathComponent("intercept/\(name).yaml").path)
  }

  @Test func theCatalogueSeedLoadsByteForByteAndMeansWhatItSays() throws {
    let text = try String(contentsOfFile: Self.catalogueSeed, encoding: .utf8)
    #expect(!text.contains("version"))
    let policy = try PolicyLoader.load(file: Self.catalogueSeed)
    #expect(policy.tools.keys.sorted() == ["start_finetune_job"])
    #expect(
      policy.tools["start_finetune_job"] == [
        Policy.Rule(action: "allow", reason: nil, rateLimit: .init(max: 10, window: 60), requiredArgs: true)
      ])
    #expect(policy.defaultAction == "allow" && policy.hide.isEmpty)
    #expect(policy.limits == Policy.builtin.limits)
  }

  @Test func theCatalogueSeedResolvesThroughEveryRoute() throws {
    let directory = TemporaryDirectory()
    let home = VlatuneHome(root: directory.appending("home"))
    try home.prepare()
    #expect(
      try PolicyLoader.resolve(explicit: Self.catalogueSeed, environment: [:], home: home).source == Self.catalogueSeed)
    #expect(
      try PolicyLoader.resolve(explicit: nil, environment: ["VLATUNE_POLICY": Self.catalogueSeed], home: home)
        .source == Self.catalogueSeed)
    let file = home.root.appendingPathComponent("policy.yaml")
    try FileManager.default.copyItem(atPath: Self.catalogueSeed, toPath: file.path)
    let fromHome = try PolicyLoader.resolve(explicit: nil, environment: [:], home: home)
    #expect(fromHome.source == file.path)
    #expect(fromHome.tools == (try PolicyLoader.load(file: Self.catalogueSeed)).tools)
  }

  @Test(arguments: ["version: 1\n", "version: \"1\"\n", "version: '1'\n", "tools: {}\n"])
  func versionIsOptionalAndOneOrTheStringOne(_ yaml: String) throws {
    #expect(try PolicyLoader.load(yaml, source: "p.yaml").version == 1)
  }

  @Test func interceptScanScaffoldLoadsWithEveryServedToolListed() throws {
    let policy = try Self.intercept("scan-scaffold")
    let served = GuardedTool.all.filter(\.servedOverMCP).map(\.name).sorted()
    #expect(policy.tools.keys.sorted() == served)
    #expect(policy.tools.values.allSatisfy { $0.isEmpty })
    #expect(policy.defaultAction == "allow")
  }

  @Test func interceptRateStringsAndOnDeny() throws {
    let policy = try Self.intercept("string-limits")
    let start = try #require(policy.tools["start_finetune_job"]?.first)
    #expect(start.name == "launch rate" && start.rateLimit == .init(max: 10, window: 60))
    #expect(start.reason?.hasPrefix("At most 10 fine-tune launches") == true)
    #expect(policy.tools["prepare_dataset"]?.first?.rateLimit == .init(max: 30, window: 3600))
    #expect(policy.tools["cancel_finetune_job"]?.first?.rateLimit == .init(max: 500, window: 86_400))
  }

  @Test func interceptConditionsKeepTheirTypes() throws {
    let policy = try Self.intercept("conditions")
    let rules = try #require(policy.tools["start_finetune_job"])
    #expect(rules.count == 4 && rules.allSatisfy { $0.action == "allow" && !$0.conditions.isEmpty })
    let conditions = rules.flatMap(\.conditions)
    #expect(Set(conditions.map(\.op)) == Set(Policy.Condition.operators))
    #expect(conditions.first { $0.op == "lte" }?.value.value == .number(5000))
    #expect(
      conditions.first { $0.op == "in" }?.value.value == .array([.string("tiny-vla"), .string("openvla/openvla-7b")]))
    #expect(conditions.first { $0.op == "exists" }?.value.value == .bool(true))
  }

  @Test func interceptDefaultHideWildcardAndDeny() throws {
    let deny = try Self.intercept("default-deny")
    #expect(deny.defaultAction == "deny")
    #expect(deny.standingRefusal("start_finetune_job")?.code == "policy_denied")
    #expect(deny.standingRefusal("get_finetune_job") == nil)
    let hide = try Self.intercept("hide")
    #expect(hide.hide == ["cancel_finetune_job", "prepare_dataset"])
    #expect(hide.hides("prepare_dataset") && !hide.hides("start_finetune_job"))
    #expect(try Self.intercept("hide-all").hides("list_datasets"))
    let wildcard = try Self.intercept("wildcard")
    #expect(wildcard.tools["*"]?.first?.rateLimit == .init(max: 60, window: 60))
    #expect(wildcard.rules(for: "list_datasets").count == 1)
    #expect(wildcard.rules(for: "start_finetune_job").count == 2)
    let maintenance = try #require(try Self.intercept("deny-rule").tools["start_finetune_job"]?.first)
    #expect(maintenance.denies && maintenance.reason?.contains("maintenance") == true)
    let integer = try Self.intercept("version-integer")
    #expect(integer.tools["*"]?.first?.action == "evaluate")
  }

  /// A policy refused at load (the loader tests' shape).
  typealias Refused = PolicyLoaderTests.BadPolicy

  /// What would restrict calls and vlatune cannot honour, or cannot mean anything: refused with
  /// its line, never ignored.
  static let refused: [Refused] = [
    Refused(
      name: "Intercept state counter",
      yaml:
        "tools:\n  start_finetune_job:\n    rules:\n      - name: spend\n        state: {counter: steps, window: day, increment_from: args.max_steps}\n",
      line: 5, fragment: "does not keep Intercept's state counters"),
    Refused(
      name: "condition on state",
      yaml:
        "tools:\n  start_finetune_job:\n    rules:\n      - conditions: [{path: state.start_finetune_job.n, op: lte, value: 3}]\n",
      line: 4, fragment: "state counters ('state.start_finetune_job.n')"),
    Refused(
      name: "argument the tool does not have (the research's dataset_id)",
      yaml:
        "version: \"1\"\ntools:\n  start_finetune_job:\n    rules:\n      - name: required args\n        conditions: [{path: args.dataset_id, op: exists, value: true}]\n",
      line: 6, fragment: "start_finetune_job has no argument 'dataset_id'"),
    Refused(
      name: "unknown operator",
      yaml:
        "tools:\n  get_finetune_job:\n    rules:\n      - conditions: [{path: args.job, op: startswith, value: job_}]\n",
      line: 4, fragment: "unknown operator 'startswith'"),
    Refused(
      name: "in without a list",
      yaml: "tools:\n  get_finetune_job:\n    rules:\n      - conditions: [{path: args.job, op: in, value: job_1}]\n",
      line: 4, fragment: "operator in needs a list value"),
    Refused(
      name: "lte on a string",
      yaml:
        "tools:\n  start_finetune_job:\n    rules:\n      - conditions: [{path: args.max_steps, op: lte, value: many}]\n",
      line: 4, fragment: "operator lte needs a numeric value"),
    Refused(
      name: "invalid regex",
      yaml:
        "tools:\n  get_finetune_job:\n    rules:\n      - conditions: [{path: args.job, op: regex, value: \"([\"}]\n",
      line: 4, fragment: "invalid regex"),
    Refused(
      name: "deny with conditions",
      yaml:
        "tools:\n  start_finetune_job:\n    rules:\n      - action: deny\n        conditions: [{path: args.gpus, op: gt, value: 4}]\n",
      line: 4, fragment: "a deny rule always refuses"),
    Refused(
      name: "reason and on_deny",
      yaml: "tools:\n  start_finetune_job:\n    rules:\n      - action: deny\n        reason: a\n        on_deny: b\n",
      line: 4, fragment: "give one of reason and on_deny"),
    Refused(
      name: "hide of an unknown tool", yaml: "hide: [cancel_job]\n",
      line: 1, fragment: "hide: unknown tool 'cancel_job'"),
    Refused(
      name: "hide twice", yaml: "hide: [list_datasets, list_datasets]\n",
      line: 1, fragment: "hide: duplicate entry 'list_datasets'"),
    Refused(
      name: "window of 1e300 seconds",
      yaml: "tools:\n  start_finetune_job:\n    rules:\n      - rate_limit: {max: 1, window: 1e300}\n",
      line: 4, fragment: "is out of range"),
    Refused(
      name: "count of 2^63",
      yaml: "tools:\n  start_finetune_job:\n    rules:\n      - rate_limit: {max: 9223372036854775807, window: 60}\n",
      line: 4, fragment: "max must be an integer in 1…1000000"),
    Refused(
      name: "window of 1e400 seconds",
      yaml: "tools:\n  start_finetune_job:\n    rules:\n      - rate_limit: \"10/1e400s\"\n",
      line: 4, fragment: "rate_limit must be"),
    Refused(
      name: "idempotency TTL of 1e300 hours", yaml: "limits: {idempotency_ttl_hours: 1e300}\n",
      line: 1, fragment: "idempotency_ttl_hours must be a number in 0…8784"),
    Refused(
      name: "default neither allow nor deny", yaml: "default: block\n",
      line: 1, fragment: "default must be allow or deny"),
    Refused(
      name: "a key Intercept does not have", yaml: "tools:\n  start_finetune_job:\n    descripton: typo\n",
      line: 3, fragment: "unknown key 'descripton'"),
  ]

  @Test(arguments: refused)
  func whatCannotBeHonouredIsRefusedWithItsLine(_ bad: Refused) {
    PolicyLoaderTests.expectRefused(bad)
  }

  @Test func aListedToolWithoutRulesStaysListed() throws {
    for yaml in [
      "default: deny\ntools:\n  list_datasets:\n", "default: deny\ntools:\n  list_datasets: {}\n",
      "default: deny\ntools:\n  list_datasets:\n    rules:\n", "default: deny\ntools:\n  list_datasets: {rules: []}\n",
    ] {
      let policy = try PolicyLoader.load(yaml, source: "p.yaml")
      #expect(policy.tools["list_datasets"] == [], "\(yaml)")
      #expect(policy.standingRefusal("list_datasets") == nil, "\(yaml)")
      #expect(policy.standingRefusal("list_finetune_jobs") != nil, "\(yaml)")
    }
  }
}

/// Intercept's operators (`internal/engine/operators.go`), case by case.
@Suite struct ConditionCheckTests {
  struct Case: Sendable, CustomTestStringConvertible {
    var path: String
    var op: String
    var value: JSONValue
    var holds: Bool
    var testDescription: String { "\(path) \(op) \(value) → \(holds)" }
  }

  static let arguments: [String: JSONValue] = [
    "max_steps": .number(100), "base_model": .string("openvla/openvla-7b"), "steps_text": .string("100"),
    "modules": .array([.string("q_proj"), .string("v_proj")]), "note": .null,
    "metadata": .object(["project": .string("vla-kitchen")]), "flag": .bool(true),
  ]

  static let cases: [Case] = [
    Case(path: "args.max_steps", op: "lte", value: .number(100), holds: true),
    Case(path: "args.max_steps", op: "lt", value: .number(100), holds: false),
    Case(path: "args.max_steps", op: "gt", value: .number(99.5), holds: true),
    Case(path: "args.max_steps", op: "gte", value: .number(101), holds: false),
    Case(path: "args.steps_text", op: "lte", value: .number(1000), holds: false),  // a string is no number
    Case(path: "args.missing", op: "lte", value: .number(1000), holds: false),  // missing fails
    Case(path: "args.missing", op: "neq", value: .string("x"), holds: false),  // even neq
    Case(path: "args.missing", op: "not_in", value: .array([.string("x")]), holds: false),
    Case(path: "args.missing", op: "exists", value: .bool(false), holds: true),
    Case(path: "args.note", op: "exists", value: .bool(false), holds: true),  // null is absent
    Case(path: "args.note", op: "exists", value: .bool(true), holds: false),
    Case(path: "args.max_steps", op: "exists", value: .bool(true), holds: true),
    Case(path: "args.max_steps", op: "eq", value: .number(100), holds: true),
    Case(path: "args.max_steps", op: "eq", value: .string("100"), holds: true),  // by text
    Case(path: "args.flag", op: "eq", value: .bool(true), holds: true),
    Case(path: "args.flag", op: "eq", value: .string("true"), holds: true),
    Case(path: "args.base_model", op: "neq", value: .string("tiny-vla"), holds: true),
    Case(
      path: "args.base_model", op: "in", value: .array([.string("tiny-vla"), .string("openvla/openvla-7b")]),
      holds: true),
    Case(path: "args.base_model", op: "not_in", value: .array([.string("openvla/openvla-7b")]), holds: false),
    Case(path: "args.max_steps", op: "in", value: .array([.number(50), .number(100)]), holds: true),
    Case(path: "args.base_model", op: "regex", value: .string("^openvla/"), holds: true),
    Case(path: "args.base_model", op: "regex", value: .string("7b"), holds: true),  // a search, unanchored
    Case(path: "args.base_model", op: "regex", value: .string("^tiny"), holds: false),
    Case(path: "args.max_steps", op: "regex", value: .string("100"), holds: false),  // not a string
    Case(path: "args.base_model", op: "contains", value: .string("openvla"), holds: true),
    Case(path: "args.modules", op: "contains", value: .string("v_proj"), holds: true),
    Case(path: "args.modules", op: "contains", value: .string("proj"), holds: false),  // an element, not a part
    Case(path: "args.metadata.project", op: "contains", value: .string("vla"), holds: true),
    Case(path: "args.metadata.owner", op: "exists", value: .bool(true), holds: false),
    Case(path: "args.max_steps.deeper", op: "exists", value: .bool(true), holds: false),
  ]

  @Test(arguments: cases)
  func operatorsMeanWhatInterceptMeans(_ item: Case) {
    let condition = Policy.Condition(path: item.path, op: item.op, value: item.value)
    #expect(ConditionCheck.holds(condition, in: Self.arguments) == item.holds)
  }

  /// When the two sides are not both numbers, `eq` compares Go's `%v` texts.
  @Test(arguments: [
    (JSONValue.number(1e6), JSONValue.string("1e+06"), true), (.number(1e6), .string("1000000"), false),
    (.string("1000000"), .number(1e6), true), (.null, .string("<nil>"), true), (.null, .string("null"), false),
    (.array([.string("a"), .number(2)]), .string("[a 2]"), true),
  ])
  func equalityFallsBackToGoText(_ actual: JSONValue, _ expected: JSONValue, _ holds: Bool) {
    let condition = Policy.Condition(path: "args.x", op: "eq", value: expected)
    #expect(ConditionCheck.holds(condition, in: ["x": actual]) == holds)
  }

  @Test(arguments: [
    (1e6, "1e+06"), (123_456, "123456"), (1_234_567, "1.234567e+06"), (0.0001, "0.0001"), (0.00001, "1e-05"),
    (1.5, "1.5"), (100, "100"), (-2.5e-7, "-2.5e-07"), (1e21, "1e+21"), (0.1, "0.1"),
    (Double.leastNonzeroMagnitude, "5e-324"),
  ])
  func floatsReadAsGoWritesThem(_ number: Double, _ text: String) {
    #expect(ConditionCheck.goFloat(number) == text)
  }

  /// RE2's classes are ASCII: `\w` does not match `é` there, nor here.
  @Test func regexClassesAreASCIIAsInRE2() {
    let word = Policy.Condition(path: "args.name", op: "regex", value: .string(#"^[\w-]+$"#))
    #expect(ConditionCheck.holds(word, in: ["name": .string("pick-blocks_2")]))
    #expect(!ConditionCheck.holds(word, in: ["name": .string("café")]))
    let digits = Policy.Condition(path: "args.name", op: "regex", value: .string(#"^\d+$"#))
    #expect(!ConditionCheck.holds(digits, in: ["name": .string("١٢٣")]))  // Arabic-Indic digits
  }

  @Test func aFailedConditionSaysWhatItTestedAndWhatItGot() {
    let condition = Policy.Condition(path: "args.max_steps", op: "lte", value: .number(50))
    #expect(
      ConditionCheck.describe(condition, in: Self.arguments)
        == "args.max_steps lte 50 does not hold (max_steps is 100)")
    let missing = Policy.Condition(path: "args.dataset", op: "exists", value: .bool(true))
    #expect(ConditionCheck.describe(missing, in: [:]).hasSuffix("(dataset is absent)"))
  }
}
