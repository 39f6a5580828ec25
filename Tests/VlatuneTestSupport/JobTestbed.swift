import Foundation

/// A state directory with a prepared sample dataset and the fake trainer
/// (`Tests/Fixtures/fake_trainer.py`) configured as the trainer.
public final class JobTestbed: @unchecked Sendable {
  // @unchecked: used by one test at a time; its state is set once in init.
  public let directory = TemporaryDirectory("vlatune-jobs")
  public var vlatune: VlatuneRunner

  /// Prepares the sample dataset as `sample` in a fresh state directory, with `policy` (YAML) as
  /// `$VLATUNE_POLICY` when given.
  public init(environment: [String: String] = [:], policy: String? = nil) throws {
    vlatune = VlatuneRunner(home: directory.appending("home"))
    vlatune.environment = environment
    if let policy {
      let path = directory.appending("policy.yaml")
      try policy.write(to: path, atomically: true, encoding: .utf8)
      vlatune.environment["VLATUNE_POLICY"] = path.path
    }
    let source = try SampleData.copy(into: directory.url)
    let prepared = try vlatune.run(["dataset", "prepare", source.path, "--name", "sample", "--quiet"])
    guard prepared.status == 0 else { throw SampleData.GeneratorError(message: prepared.standardError) }
  }

  /// The fake trainer command for a mode.
  /// (`steps` 0: the spec's `max_steps`; `evals`: an eval at every checkpoint.)
  public static func trainer(
    _ mode: String = "ok", steps: Int = 10, stepSeconds: Double = 0.02, evals: Bool = false
  ) -> String {
    let script = TestPaths.repository.appendingPathComponent("Tests/Fixtures/fake_trainer.py").path
    return "\(TestPaths.python!) \(script) --mode \(mode) --steps \(steps) --step-seconds \(stepSeconds)"
      + (evals ? " --evals" : "")
  }

  /// Runs `vlatune` with the fake trainer in `mode`.
  public func run(
    _ arguments: [String], trainer: String = JobTestbed.trainer(), extra: [String: String] = [:]
  ) throws -> ProcessResult {
    var runner = vlatune
    runner.environment["VLATUNE_TRAINER"] = trainer
    for (key, value) in extra { runner.environment[key] = value }
    return try runner.run(arguments)
  }

  /// Starts a job and returns its id.
  public func start(
    trainer: String = JobTestbed.trainer(), arguments: [String] = [], extra: [String: String] = [:]
  ) throws -> String {
    let result = try run(
      ["job", "start", "--base-model", "tiny-vla", "--dataset", "sample", "--quiet"] + arguments,
      trainer: trainer, extra: extra)
    guard result.status == 0 else {
      throw SampleData.GeneratorError(message: "job start exited \(result.status): \(result.standardError)")
    }
    return result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// `job status ID --json` as a dictionary.
  public func status(_ id: String) throws -> [String: Any] {
    let result = try vlatune.run(["job", "status", id, "--json"])
    return try result.json()
  }

  /// Polls the job's status until `condition` holds.
  @discardableResult
  public func waitFor(
    _ id: String, _ what: String, timeout: TimeInterval = 60,
    _ condition: ([String: Any]) -> Bool
  ) throws -> [String: Any] {
    var last: [String: Any] = [:]
    try waitUntil("\(id): \(what)", timeout: timeout) {
      last = try status(id)
      return condition(last)
    }
    return last
  }

  /// Polls until the job is in one of `states`.
  @discardableResult
  public func waitForState(_ id: String, _ states: Set<String>, timeout: TimeInterval = 60) throws
    -> [String: Any]
  {
    try waitFor(id, "state in \(states.sorted())", timeout: timeout) {
      states.contains($0["state"] as? String ?? "")
    }
  }
}

/// Whether a process exists and is not a zombie (reads /proc/<pid>/stat).
public func processIsAlive(_ pid: Int) -> Bool {
  guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
    let close = text.lastIndex(of: ")")
  else { return false }
  let rest = text[text.index(after: close)...].trimmingCharacters(in: .whitespaces)
  guard let state = rest.first else { return false }
  return state != "Z" && state != "X"
}
