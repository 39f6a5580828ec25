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

@Suite struct LimiterTests {
  let limiter = SlidingWindowLimiter(scope: "start|cli:test|rule0", limit: .init(max: 10, window: 60))

  /// Admits at `now` if allowed, as the launcher does in one transaction.
  func attempt(_ store: Store, at now: Int64) throws -> SlidingWindowLimiter.Decision {
    try store.write { database in
      let decision = try limiter.check(database, now: now)
      if decision.allowed {
        try limiter.record(database, at: decision.effectiveNow, reference: "job")
      }
      return decision
    }
  }

  @Test func exactBoundaryAndRetryTime() throws {
    let store = try Store.inMemory()
    for index in 0..<10 {
      #expect(try attempt(store, at: 1_000 + Int64(index) * 500).allowed, "admission \(index + 1)")
    }
    let refused = try attempt(store, at: 6_000)
    #expect(!refused.allowed)
    // The first admission (t = 1.0 s) leaves the window at 61.0 s: retry after 55.0 s.
    #expect(refused.retryAfter == 55.0)
    #expect(try !attempt(store, at: 60_999).allowed)
    #expect(try attempt(store, at: 6_000 + 55_000).allowed)
    #expect(try !attempt(store, at: 61_000).allowed)
  }

  @Test func clockJumpingBackwardsFreesNothing() throws {
    let store = try Store.inMemory()
    for index in 0..<10 { _ = try attempt(store, at: 100_000 + Int64(index)) }
    let back = try attempt(store, at: 10_000)
    #expect(!back.allowed)
    #expect((back.retryAfter ?? 0) > 60)
    #expect(try !attempt(store, at: 100_500).allowed)
    #expect(try attempt(store, at: 160_000).allowed)
  }

  @Test func statePersistsAcrossReopen() throws {
    let directory = TemporaryDirectory()
    let path = directory.appending("vlatune.db").path
    do {
      let store = try Store(path: path)
      for index in 0..<10 { _ = try attempt(store, at: 5_000 + Int64(index)) }
    }
    let reopened = try Store(path: path)
    #expect(try !attempt(reopened, at: 6_000).allowed)
    #expect(try attempt(reopened, at: 65_000).allowed)
  }

  @Test func scopesAreIndependent() throws {
    let store = try Store.inMemory()
    for index in 0..<10 { _ = try attempt(store, at: Int64(index)) }
    let other = SlidingWindowLimiter(scope: "start|cli:other|rule0", limit: .init(max: 10, window: 60))
    #expect(try store.write { try other.check($0, now: 20).allowed })
  }

  /// Property: for random arrival sequences, admissions never exceed `max` in any window, and
  /// every refusal happened with `max` admissions already in the window (nothing refused early).
  @Test(arguments: 0..<40)
  func randomArrivalsNeverExceedTheLimit(_ seed: Int) throws {
    var generator = SeededGenerator(seed: UInt64(seed) &* 7919)
    let max = 1 + generator.next(below: 6)
    let window = Int64(1_000 * (1 + generator.next(below: 20)))
    let limiter = SlidingWindowLimiter(scope: "p", limit: .init(max: max, window: Double(window) / 1000))
    let store = try Store.inMemory()
    var now: Int64 = 1_000_000
    var admitted: [Int64] = []
    for _ in 0..<200 {
      now += Int64(generator.next(below: Int(window / 3) + 1))
      let decision = try store.write { database in
        let decision = try limiter.check(database, now: now)
        if decision.allowed { try limiter.record(database, at: decision.effectiveNow, reference: "x") }
        return decision
      }
      let inWindow = admitted.filter { $0 > now - window }.count
      if decision.allowed {
        #expect(inWindow < max)
        admitted.append(now)
      } else {
        #expect(inWindow == max)
        let retry = Int64(((decision.retryAfter ?? 0) * 1000).rounded())
        let expected = admitted.filter { $0 > now - window }.min()! + window - now
        #expect(retry == expected)
      }
    }
    for (index, time) in admitted.enumerated() {
      let inWindow = admitted[..<(index + 1)].filter { $0 > time - window }.count
      #expect(inWindow <= max)
    }
  }
}

@Suite struct PolicyLoaderTests {
  static let seedPath = TestPaths.repository.appendingPathComponent("Tests/Fixtures/policies/seed.yaml").path

  @Test func seedPolicyLoadsAndMeansWhatItSays() throws {
    let policy = try PolicyLoader.load(file: Self.seedPath)
    let start = try #require(policy.tools["start_finetune_job"]?.first)
    #expect(start.action == "allow")
    #expect(start.rateLimit == Policy.RateLimit(max: 10, window: 60))
    #expect(start.requiredArgs)
    #expect(policy.tools["prepare_dataset"]?.first?.rateLimit == Policy.RateLimit(max: 30, window: 3600))
    #expect(policy.limits.maxRunningJobs == 2 && policy.limits.maxQueuedJobs == 20)
    #expect(policy.limits.gpuHoursPerDay == 48)
    #expect(policy.limits.baseModels == ["*"] && policy.limits.datasetRoots == ["~"])
    #expect(policy.digest.hasPrefix("sha256:"))
  }

  @Test(arguments: [
    ("10/minute", 10, 60.0), ("3/hour", 3, 3600.0), ("100/day", 100, 86_400.0), ("5/30s", 5, 30.0),
    ("2/second", 2, 1.0),
  ])
  func rateStringsAreAccepted(_ text: String, _ max: Int, _ window: Double) throws {
    let policy = try PolicyLoader.load(
      "version: 1\ntools:\n  start_finetune_job:\n    rules:\n      - action: allow\n        rate_limit: \"\(text)\"\n",
      source: "test")
    #expect(policy.tools["start_finetune_job"]?.first?.rateLimit == Policy.RateLimit(max: max, window: window))
  }

  @Test func denyRuleCarriesItsReason() throws {
    let policy = try PolicyLoader.load(
      "version: 1\ntools:\n  start_finetune_job:\n    rules: [{action: deny, reason: maintenance window}]\n",
      source: "test")
    #expect(
      policy.tools["start_finetune_job"]?.first
        == Policy.Rule(action: "deny", reason: "maintenance window", rateLimit: nil, requiredArgs: false))
  }

  struct BadPolicy: Sendable, CustomTestStringConvertible {
    var name: String
    var yaml: String
    var line: Int
    var fragment: String
    var testDescription: String { name }
  }

  static let badPolicies: [BadPolicy] = [
    BadPolicy(
      name: "unknown top-level key", yaml: "version: 1\nlimitz: {}\n", line: 2, fragment: "unknown key 'limitz'"),
    BadPolicy(name: "fractional version", yaml: "version: 1.0\n", line: 1, fragment: "version must be 1"),
    BadPolicy(name: "wrong version", yaml: "version: 2\n", line: 1, fragment: "version must be 1"),
    BadPolicy(
      name: "unknown tool", yaml: "version: 1\ntools:\n  launch_rockets:\n    rules: []\n", line: 3,
      fragment: "unknown tool 'launch_rockets'"),
    BadPolicy(
      name: "unknown rule key",
      yaml:
        "version: 1\ntools:\n  start_finetune_job:\n    rules:\n      - action: allow\n        ratelimit: 5/minute\n",
      line: 6, fragment: "unknown key 'ratelimit'"),
    BadPolicy(
      name: "bad action", yaml: "version: 1\ntools:\n  start_finetune_job:\n    rules:\n      - action: permit\n",
      line: 5, fragment: "action must be allow, evaluate or deny"),
    BadPolicy(
      name: "deny with a rate limit",
      yaml:
        "version: 1\ntools:\n  start_finetune_job:\n    rules:\n      - action: deny\n        rate_limit: 5/minute\n",
      line: 5, fragment: "a deny rule always refuses"),
    BadPolicy(
      name: "bad rate string",
      yaml: "version: 1\ntools:\n  start_finetune_job:\n    rules:\n      - rate_limit: lots\n", line: 5,
      fragment: "rate_limit must be"),
    BadPolicy(
      name: "rate limit without window",
      yaml: "version: 1\ntools:\n  start_finetune_job:\n    rules:\n      - rate_limit: {max: 3}\n", line: 5,
      fragment: "needs both max and window"),
    BadPolicy(
      name: "zero max",
      yaml: "version: 1\ntools:\n  start_finetune_job:\n    rules:\n      - rate_limit: {max: 0, window: 60}\n",
      line: 5, fragment: "max must be an integer in 1…1000000"),
    BadPolicy(
      name: "unknown limit", yaml: "version: 1\nlimits:\n  max_gpus: 3\n", line: 3, fragment: "unknown key 'max_gpus'"),
    BadPolicy(
      name: "negative budget", yaml: "version: 1\nlimits:\n  gpu_hours_per_day: -1\n", line: 3,
      fragment: "must be a number in 0…1000000"),
    BadPolicy(
      name: "roots not a list", yaml: "version: 1\nlimits:\n  dataset_roots: /data\n", line: 3,
      fragment: "must be a list of strings"),
    BadPolicy(
      name: "required_args not boolean",
      yaml: "version: 1\ntools:\n  start_finetune_job:\n    rules:\n      - validate: {required_args: sometimes}\n",
      line: 5, fragment: "required_args must be true or false"),
    BadPolicy(name: "not YAML", yaml: "version: 1\ntools: [unclosed\n", line: 3, fragment: "not valid YAML"),
    BadPolicy(name: "not a mapping", yaml: "- 1\n- 2\n", line: 1, fragment: "must be a mapping"),
  ]

  @Test(arguments: badPolicies)
  func errorsNameTheirLine(_ bad: BadPolicy) {
    Self.expectRefused(bad)
  }

  /// Expects `bad` refused with a problem that holds its fragment, on its line.
  static func expectRefused(_ bad: BadPolicy) {
    do {
      _ = try PolicyLoader.load(bad.yaml, source: "p.yaml")
      Issue.record("accepted: \(bad.yaml)")
    } catch VlatuneError.invalidPolicy(_, let problems) {
      let problem = problems.first { $0.message.contains(bad.fragment) }
      #expect(problem != nil, "\(problems)")
      #expect(problem?.line == bad.line, "\(problems)")
    } catch {
      Issue.record("unexpected error \(error)")
    }
  }

  @Test func everyErrorIsReportedAtOnce() {
    let yaml = "version: 3\nextra: 1\nlimits:\n  max_running_jobs: zero\n  nope: 1\n"
    #expect {
      try PolicyLoader.load(yaml, source: "p.yaml")
    } throws: { error in
      guard case VlatuneError.invalidPolicy(_, let problems) = error else { return false }
      return problems.count == 4
    }
  }

  @Test func resolutionOrder() throws {
    let directory = TemporaryDirectory()
    let home = VlatuneHome(root: directory.appending("home"))
    try home.prepare()
    #expect(try PolicyLoader.resolve(explicit: nil, environment: [:], home: home) == .builtin)
    try "version: 1\nlimits: {max_running_jobs: 7}\n".write(
      to: home.root.appendingPathComponent("policy.yaml"), atomically: true, encoding: .utf8)
    #expect(try PolicyLoader.resolve(explicit: nil, environment: [:], home: home).limits.maxRunningJobs == 7)
    let environmentPolicy = try PolicyLoader.resolve(
      explicit: nil, environment: ["VLATUNE_POLICY": Self.seedPath], home: home)
    #expect(environmentPolicy.source == Self.seedPath)
    #expect(try PolicyLoader.resolve(explicit: Self.seedPath, environment: [:], home: home).limits.maxRunningJobs == 2)
  }
}

@Suite struct ParameterTableTests {
  @Test func reportsEveryProblemAtOnce() {
    let raw: [String: JSONValue] = [
      "lora_rank": .number(0), "learning_rate": .number(2), "batch_size": .string("big"),
      "precision": .string("fp8"), "surprise": .bool(true),
    ]
    #expect {
      try JobParameters.table.validate(raw)
    } throws: { error in
      guard case VlatuneError.invalidParameters(let problems) = error else { return false }
      let params = Set(problems.map(\.param))
      return params == ["lora_rank", "learning_rate", "batch_size", "precision", "surprise", "base_model", "dataset"]
        && problems.first { $0.param == "lora_rank" }?.message == "lora_rank (--lora-rank) must be in [1, 1024], got 0"
        && problems.first { $0.param == "learning_rate" }?.message
          == "learning_rate (--learning-rate) must be in (0, 1), got 2"
    }
  }

  @Test func fillsDefaults() throws {
    let values = try JobParameters.table.validate([
      "base_model": .string("tiny-vla"), "dataset": .string("d"),
    ])
    #expect(values["lora_rank"] == .number(32))
    #expect(values["lora_alpha"] == .number(16))
    #expect(values["learning_rate"] == .number(5e-4))
    #expect(values["seed"] == nil)
  }

  @Test func commandLineStringsAreTyped() throws {
    let values = JobParameters.table.fromCommandLine([
      "lora_rank": "8", "metadata": "team=vision,run=3", "target_modules": "q_proj, v_proj",
    ])
    #expect(values["lora_rank"] == .number(8))
    #expect(values["metadata"] == .object(["team": .string("vision"), "run": .string("3")]))
    #expect(values["target_modules"] == .array([.string("q_proj"), .string("v_proj")]))
  }

  @Test func limitsMetadata() {
    let many = Dictionary(uniqueKeysWithValues: (0..<17).map { ("k\($0)", JSONValue.string("v")) })
    #expect(throws: VlatuneError.self) {
      try JobParameters.table.validate([
        "base_model": .string("tiny-vla"), "dataset": .string("d"), "metadata": .object(many),
      ])
    }
  }

  @Test func documentationIsCurrent() throws {
    let file = TestPaths.repository.appendingPathComponent("docs/parameters.md")
    let text = try String(contentsOf: file, encoding: .utf8)
    #expect(text == ParameterDocumentation.markdown(), "run: vlatune __docs parameters > docs/parameters.md")
  }
}
