import Foundation
import Yams

/// A problem in a policy file, with its line.
public struct PolicyProblem: Sendable, Equatable, Codable, CustomStringConvertible {
  /// 1-based line (0 when unknown).
  public var line: Int
  /// What is wrong and how to fix it.
  public var message: String
  /// `line N: message`.
  public var description: String { line > 0 ? "line \(line): \(message)" : message }
}

/// Reads policy YAML in the shape MCP proxies write (CONTRACT §8), strictly: unknown keys and
/// wrong types are errors with their line numbers, and every error is reported at once.
public enum PolicyLoader {
  /// Parses policy text.
  ///
  /// - Parameters:
  ///   - text: The YAML.
  ///   - source: The file path (for messages and `source`).
  /// - Throws: ``VlatuneError/invalidPolicy(source:problems:)`` listing every problem.
  public static func load(_ text: String, source: String) throws -> Policy {
    var reader = Reader()
    let root: Node?
    do {
      root = try Yams.compose(yaml: text)
    } catch {
      throw VlatuneError.invalidPolicy(
        source: source, problems: [PolicyProblem(line: Self.line(of: error), message: "not valid YAML: \(error)")])
    }
    guard let root, case .mapping = root else {
      throw VlatuneError.invalidPolicy(
        source: source, problems: [PolicyProblem(line: 1, message: "a policy must be a mapping with version, tools and limits")])
    }
    var policy = Policy.builtin
    policy.source = source
    policy.digest = "sha256:" + String(SHA256Hasher.hex(Array(text.utf8)).prefix(16))
    policy.tools = [:]
    reader.read(root, into: &policy)
    if !reader.problems.isEmpty {
      throw VlatuneError.invalidPolicy(source: source, problems: reader.problems)
    }
    return policy
  }

  /// Loads a file.
  public static func load(file path: String) throws -> Policy {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw VlatuneError.notFound(kind: "policy file", reference: path, hint: "check the path")
    }
    return try load(String(decoding: data, as: UTF8.self), source: path)
  }

  /// The effective policy: `explicit` (`--policy`), else `$VLATUNE_POLICY`, else
  /// `$VLATUNE_HOME/policy.yaml` when it exists, else ``Policy/builtin``.
  public static func resolve(explicit: String?, environment: [String: String], home: VlatuneHome)
    throws -> Policy
  {
    if let explicit, !explicit.isEmpty { return try load(file: explicit) }
    if let path = environment["VLATUNE_POLICY"], !path.isEmpty { return try load(file: path) }
    let file = home.root.appendingPathComponent("policy.yaml").path
    if FileManager.default.fileExists(atPath: file) { return try load(file: file) }
    return .builtin
  }

  private static func line(of error: any Error) -> Int {
    if let yaml = error as? YamlError {
      switch yaml {
      case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
        return mark.line
      default: return 0
      }
    }
    return 0
  }

  /// Walks the node tree, collecting problems.
  private struct Reader {
    var problems: [PolicyProblem] = []

    mutating func problem(_ node: Node?, _ message: String) {
      problems.append(PolicyProblem(line: node?.mark?.line ?? 0, message: message))
    }

    func entries(_ node: Node) -> [(key: String, keyNode: Node, value: Node)] {
      guard case .mapping(let mapping) = node else { return [] }
      return mapping.map { ($0.key.string ?? "", $0.key, $0.value) }
    }

    mutating func mapping(_ node: Node, _ what: String, allowed: [String]) -> [String: Node]? {
      guard case .mapping = node else {
        problem(node, "\(what) must be a mapping")
        return nil
      }
      var result: [String: Node] = [:]
      for (key, keyNode, value) in entries(node) {
        if !allowed.contains(key) {
          problem(keyNode, "unknown key '\(key)' in \(what); allowed: \(allowed.joined(separator: ", "))")
        } else {
          result[key] = value
        }
      }
      return result
    }

    mutating func integer(_ node: Node, _ what: String, minimum: Int) -> Int? {
      guard let value = node.int, value >= minimum else {
        problem(node, "\(what) must be an integer ≥ \(minimum), got '\(node.string ?? "?")'")
        return nil
      }
      return value
    }

    mutating func number(_ node: Node, _ what: String) -> Double? {
      guard let value = node.float ?? node.int.map(Double.init), value >= 0, value.isFinite else {
        problem(node, "\(what) must be a number ≥ 0, got '\(node.string ?? "?")'")
        return nil
      }
      return value
    }

    mutating func strings(_ node: Node, _ what: String) -> [String]? {
      guard case .sequence(let sequence) = node else {
        problem(node, "\(what) must be a list of strings")
        return nil
      }
      var values: [String] = []
      for item in sequence {
        guard case .scalar = item, let text = item.string, !text.isEmpty else {
          problem(item, "\(what) items must be non-empty strings")
          continue
        }
        values.append(text)
      }
      return values
    }

    mutating func read(_ root: Node, into policy: inout Policy) {
      guard let top = mapping(root, "the policy", allowed: ["version", "description", "default", "tools", "limits"])
      else { return }
      if let version = top["version"] {
        if version.int != 1 { problem(version, "version must be 1, got '\(version.string ?? "?")'") }
      } else {
        problem(root, "version is required (version: 1)")
      }
      if let fallback = top["default"] {
        if let text = fallback.string, ["allow", "deny"].contains(text) {
          policy.defaultAction = text
        } else {
          problem(fallback, "default must be allow or deny, got '\(fallback.string ?? "?")'")
        }
      }
      if let tools = top["tools"] { readTools(tools, into: &policy) }
      if let limits = top["limits"] { readLimits(limits, into: &policy.limits) }
    }

    mutating func readTools(_ node: Node, into policy: inout Policy) {
      guard case .mapping = node else {
        problem(node, "tools must be a mapping of tool name to rules")
        return
      }
      for (name, keyNode, value) in entries(node) {
        guard Policy.knownTools.contains(name) else {
          problem(keyNode, "unknown tool '\(name)'; known: \(Policy.knownTools.joined(separator: ", "))")
          continue
        }
        guard let tool = mapping(value, "tools.\(name)", allowed: ["rules"]) else { continue }
        guard let rulesNode = tool["rules"], case .sequence(let sequence) = rulesNode else {
          problem(value, "tools.\(name).rules must be a list of rules")
          continue
        }
        var rules: [Policy.Rule] = []
        for (index, ruleNode) in sequence.enumerated() {
          if let rule = readRule(ruleNode, "tools.\(name).rules[\(index)]") { rules.append(rule) }
        }
        policy.tools[name] = rules
      }
    }

    mutating func readRule(_ node: Node, _ what: String) -> Policy.Rule? {
      guard let fields = mapping(node, what, allowed: ["name", "action", "reason", "rate_limit", "validate"])
      else { return nil }
      var rule = Policy.Rule(action: "allow", reason: nil, rateLimit: nil, requiredArgs: false)
      var ok = true
      if let action = fields["action"] {
        if let text = action.string, ["allow", "deny"].contains(text) {
          rule.action = text
        } else {
          problem(action, "\(what).action must be allow or deny, got '\(action.string ?? "?")'")
          ok = false
        }
      }
      if let reason = fields["reason"] { rule.reason = reason.string }
      if rule.action == "deny" && (fields["rate_limit"] != nil || fields["validate"] != nil) {
        problem(node, "\(what): a deny rule takes only reason (rate_limit and validate apply to allow)")
        ok = false
      }
      if let limit = fields["rate_limit"] {
        if let parsed = readRateLimit(limit, "\(what).rate_limit") { rule.rateLimit = parsed } else { ok = false }
      }
      if let validate = fields["validate"],
        let options = mapping(validate, "\(what).validate", allowed: ["required_args"])
      {
        if let required = options["required_args"] {
          if let flag = required.bool { rule.requiredArgs = flag } else {
            problem(required, "\(what).validate.required_args must be true or false")
            ok = false
          }
        }
      }
      return ok ? rule : nil
    }

    mutating func readRateLimit(_ node: Node, _ what: String) -> Policy.RateLimit? {
      if case .scalar = node, let text = node.string {
        if let parsed = Self.parseRate(text) { return parsed }
        problem(node, "\(what) must be {max: N, window: SECONDS} or \"N/second|minute|hour|day\", got '\(text)'")
        return nil
      }
      guard let fields = mapping(node, what, allowed: ["max", "window"]) else { return nil }
      guard let maxNode = fields["max"], let windowNode = fields["window"] else {
        problem(node, "\(what) needs both max and window (seconds)")
        return nil
      }
      guard let max = integer(maxNode, "\(what).max", minimum: 1) else { return nil }
      let window: Double?
      if let seconds = windowNode.int ?? windowNode.float.map({ Int($0) }), seconds > 0 {
        window = windowNode.float ?? Double(seconds)
      } else if let text = windowNode.string, let unit = Self.unitSeconds(text) {
        window = unit
      } else {
        window = nil
      }
      guard let window, window > 0 else {
        problem(windowNode, "\(what).window must be a positive number of seconds or second|minute|hour|day")
        return nil
      }
      return Policy.RateLimit(max: max, window: window)
    }

    static func unitSeconds(_ unit: String) -> Double? {
      ["second": 1, "sec": 1, "s": 1, "minute": 60, "min": 60, "m": 60, "hour": 3600, "h": 3600,
       "day": 86400, "d": 86400][unit.lowercased()]
    }

    static func parseRate(_ text: String) -> Policy.RateLimit? {
      let parts = text.split(separator: "/").map { String($0).trimmingWhitespace() }
      guard parts.count == 2, let max = Int(parts[0]), max >= 1 else { return nil }
      if let seconds = unitSeconds(parts[1]) { return Policy.RateLimit(max: max, window: seconds) }
      if parts[1].hasSuffix("s"), let seconds = Double(parts[1].dropLast()), seconds > 0 {
        return Policy.RateLimit(max: max, window: seconds)
      }
      return nil
    }

    mutating func readLimits(_ node: Node, into limits: inout Policy.Limits) {
      let keys = ["max_running_jobs", "max_queued_jobs", "gpu_hours_per_day", "base_models",
                  "dataset_roots", "step_seconds", "idempotency_ttl_hours", "executors",
                  "default_executor"]
      guard let fields = mapping(node, "limits", allowed: keys) else { return }
      if let value = fields["max_running_jobs"], let parsed = integer(value, "limits.max_running_jobs", minimum: 1) {
        limits.maxRunningJobs = parsed
      }
      if let value = fields["max_queued_jobs"], let parsed = integer(value, "limits.max_queued_jobs", minimum: 0) {
        limits.maxQueuedJobs = parsed
      }
      if let value = fields["gpu_hours_per_day"], let parsed = number(value, "limits.gpu_hours_per_day") {
        limits.gpuHoursPerDay = parsed
      }
      if let value = fields["step_seconds"], let parsed = number(value, "limits.step_seconds") {
        limits.stepSeconds = parsed
      }
      if let value = fields["idempotency_ttl_hours"], let parsed = number(value, "limits.idempotency_ttl_hours") {
        limits.idempotencyTTLHours = parsed
      }
      if let value = fields["base_models"], let parsed = strings(value, "limits.base_models") {
        limits.baseModels = parsed
      }
      if let value = fields["dataset_roots"], let parsed = strings(value, "limits.dataset_roots") {
        limits.datasetRoots = parsed
      }
      let known = ["local", "slurm"]
      if let value = fields["executors"], let parsed = strings(value, "limits.executors") {
        if let bad = parsed.first(where: { !known.contains($0) }) {
          problem(value, "limits.executors: unknown executor '\(bad)'; known: local, slurm")
        } else {
          limits.executors = parsed
        }
      }
      if let value = fields["default_executor"] {
        if let text = value.string, known.contains(text) {
          limits.defaultExecutor = text
        } else {
          problem(value, "limits.default_executor must be local or slurm, got '\(value.string ?? "?")'")
        }
      }
    }
  }
}
