import Foundation
import VlatuneStore
import VlatuneSupport
import Yams

/// Reads policy YAML as its authors write it (CONTRACT §8, docs/policy.md): the seed's shape
/// (`action: allow`, `rate_limit: {max, window}`, `validate`), Intercept's (`version: "1"`,
/// `"N/minute"` limits, `evaluate` rules with `conditions` and `on_deny`, `hide`, `"*"`) and
/// vlatune's `limits`. Whatever would restrict calls and cannot be honoured (Intercept's `state`
/// counters, unknown keys, tools or arguments) is an error with its line, never ignored; every
/// error is reported at once.
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
      // The basic resolver tags every scalar a string; values are typed below with YAML 1.2's
      // core schema (as Go's YAML library, which Intercept uses, types them). Yams' default
      // resolver compiles a dozen ICU regular expressions first, in every command that reads
      // a policy file, `job status` included (docs/performance.md).
      root = try Yams.compose(yaml: text, Resolver.basic)
    } catch {
      throw VlatuneError.invalidPolicy(
        source: source, problems: [PolicyProblem(line: Self.line(of: error), message: "not valid YAML: \(error)")])
    }
    guard let root, case .mapping = root else {
      throw VlatuneError.invalidPolicy(
        source: source,
        problems: [
          PolicyProblem(
            line: 1, message: "a policy must be a mapping (tools, and optionally version, default, hide, limits)")
        ])
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
    try SafePath.check(path, what: "policy file")
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
      guard let number = Self.number(node), number == number.rounded(), abs(number) <= 1e15,
        case let value = Int(number), value >= minimum, value <= Self.maximumCount
      else {
        problem(node, "\(what) must be an integer in \(minimum)…\(Self.maximumCount), got '\(node.string ?? "?")'")
        return nil
      }
      return value
    }

    mutating func number(_ node: Node, _ what: String, maximum: Double) -> Double? {
      guard let value = Self.number(node), value >= 0, value <= maximum else {
        problem(
          node,
          "\(what) must be a number in 0…\(ParameterDefinition.format(maximum)), got '\(node.string ?? "?")'")
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
      guard
        let top = mapping(
          root, "the policy", allowed: ["version", "description", "default", "hide", "tools", "limits"])
      else { return }
      // Optional: the seed's file has none; Intercept writes the string "1".
      if let version = top["version"], version.scalar?.string != "1" {
        problem(version, "version must be 1 (or \"1\"), got '\(version.string ?? "?")'")
      }
      if let fallback = top["default"] {
        if let text = fallback.string, ["allow", "deny"].contains(text) {
          policy.defaultAction = text
        } else {
          problem(fallback, "default must be allow or deny, got '\(fallback.string ?? "?")'")
        }
      }
      if let hide = top["hide"] { readHide(hide, into: &policy) }
      if let tools = top["tools"] { readTools(tools, into: &policy) }
      if let limits = top["limits"] { readLimits(limits, into: &policy.limits) }
    }

    mutating func readHide(_ node: Node, into policy: inout Policy) {
      guard let names = strings(node, "hide") else { return }
      var seen = Set<String>()
      for (name, item) in zip(names, node.sequence ?? []) {
        if !Policy.knownTools.contains(name) {
          problem(item, "hide: unknown tool '\(name)'; known: \(Policy.knownTools.joined(separator: ", "))")
        } else if !seen.insert(name).inserted {
          problem(item, "hide: duplicate entry '\(name)'")
        }
      }
      policy.hide = names
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
        // A listed tool may have no rules (`rules: []`, as `intercept scan` writes, or nothing):
        // under `default: deny` being listed is what permits it.
        policy.tools[name] = []
        if Self.isNull(value) { continue }
        guard let tool = mapping(value, "tools.\(name)", allowed: ["rules"]) else { continue }
        guard let rulesNode = tool["rules"], !Self.isNull(rulesNode) else { continue }
        guard case .sequence(let sequence) = rulesNode else {
          problem(rulesNode, "tools.\(name).rules must be a list of rules")
          continue
        }
        var rules: [Policy.Rule] = []
        for (index, ruleNode) in sequence.enumerated() {
          if let rule = readRule(ruleNode, "tools.\(name).rules[\(index)]", tool: name) { rules.append(rule) }
        }
        policy.tools[name] = rules
      }
    }

    static func isNull(_ node: Node) -> Bool {
      if case .scalar(let scalar) = node { return coreScalar(scalar) == .null }
      if case .mapping(let mapping) = node { return mapping.isEmpty }
      return false
    }

    mutating func readRule(_ node: Node, _ what: String, tool: String) -> Policy.Rule? {
      let keys = ["name", "action", "reason", "on_deny", "rate_limit", "validate", "conditions", "state"]
      guard let fields = mapping(node, what, allowed: keys) else { return nil }
      var rule = Policy.Rule(action: "allow", reason: nil, rateLimit: nil, requiredArgs: false)
      var ok = true
      if let name = fields["name"] {
        if let text = name.string, case .scalar = name {
          rule.name = text
        } else {
          problem(name, "\(what).name must be a string")
          ok = false
        }
      }
      if let action = fields["action"] {
        if let text = action.string, ["allow", "evaluate", "deny"].contains(text) {
          rule.action = text
        } else {
          problem(action, "\(what).action must be allow, evaluate or deny, got '\(action.string ?? "?")'")
          ok = false
        }
      }
      if fields["reason"] != nil && fields["on_deny"] != nil {
        problem(node, "\(what): give one of reason and on_deny (they mean the same: what a refusal says)")
        ok = false
      }
      if let message = fields["on_deny"] ?? fields["reason"] {
        if let text = message.string, case .scalar = message {
          rule.reason = text
        } else {
          problem(message, "\(what).on_deny must be a string")
          ok = false
        }
      }
      if let state = fields["state"] {
        problem(
          state,
          "\(what).state: vlatune does not keep Intercept's state counters, so this rule cannot be "
            + "honoured; use rate_limit (\"N/minute|hour|day\" or {max, window}) for call counts, or "
            + "limits.gpu_hours_per_day for spend")
        ok = false
      }
      if rule.denies
        && (fields["rate_limit"] != nil || fields["validate"] != nil || fields["conditions"] != nil)
      {
        problem(
          node,
          "\(what): a deny rule always refuses and takes only name and on_deny; to refuse only when "
            + "an argument matches, write an evaluate rule whose conditions must hold")
        ok = false
      }
      if let limit = fields["rate_limit"] {
        if let parsed = readRateLimit(limit, "\(what).rate_limit") { rule.rateLimit = parsed } else { ok = false }
      }
      if let validate = fields["validate"],
        let options = mapping(validate, "\(what).validate", allowed: ["required_args"])
      {
        if let required = options["required_args"] {
          if case .scalar(let scalar) = required, case .bool(let flag) = Self.coreScalar(scalar) {
            rule.requiredArgs = flag
          } else {
            problem(required, "\(what).validate.required_args must be true or false")
            ok = false
          }
        }
      }
      if let conditions = fields["conditions"] {
        if let parsed = readConditions(conditions, "\(what).conditions", tool: tool) {
          rule.conditions = parsed
        } else {
          ok = false
        }
      }
      return ok ? rule : nil
    }

    mutating func readConditions(_ node: Node, _ what: String, tool: String) -> [Policy.Condition]? {
      guard case .sequence(let sequence) = node else {
        problem(node, "\(what) must be a list of {path, op, value}")
        return nil
      }
      var conditions: [Policy.Condition] = []
      var ok = true
      for (index, item) in sequence.enumerated() {
        if let condition = readCondition(item, "\(what)[\(index)]", tool: tool) {
          conditions.append(condition)
        } else {
          ok = false
        }
      }
      return ok ? conditions : nil
    }

    mutating func readCondition(_ node: Node, _ what: String, tool: String) -> Policy.Condition? {
      guard let fields = mapping(node, what, allowed: ["path", "op", "value"]) else { return nil }
      guard let pathNode = fields["path"], let path = pathNode.string, let opNode = fields["op"],
        let op = opNode.string
      else {
        problem(node, "\(what) needs path (args.NAME) and op")
        return nil
      }
      if path.hasPrefix("state.") {
        problem(
          pathNode,
          "\(what).path: vlatune does not keep Intercept's state counters ('\(path)'); use "
            + "rate_limit for call counts")
        return nil
      }
      let segments = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
      guard segments.count >= 2, segments[0] == "args", !segments.dropFirst().contains("") else {
        problem(pathNode, "\(what).path must be args.NAME (or args.NAME.KEY), got '\(path)'")
        return nil
      }
      if let guarded = GuardedTool.named(tool), !guarded.arguments.contains(segments[1]) {
        problem(
          pathNode,
          "\(what).path: \(tool) has no argument '\(segments[1])', so this condition could never "
            + "hold; its arguments: \(guarded.arguments.isEmpty ? "none" : guarded.arguments.joined(separator: ", "))")
        return nil
      }
      guard Policy.Condition.operators.contains(op) else {
        problem(
          opNode, "\(what).op: unknown operator '\(op)'; known: \(Policy.Condition.operators.joined(separator: ", "))")
        return nil
      }
      let valueNode = fields["value"]
      let value = valueNode.map(Self.json) ?? .null
      let problemNode = valueNode ?? node
      switch op {
      case "in", "not_in":
        guard value.arrayValue != nil else {
          problem(problemNode, "\(what): operator \(op) needs a list value")
          return nil
        }
      case "lt", "lte", "gt", "gte":
        guard let number = value.numberValue, number.isFinite else {
          problem(problemNode, "\(what): operator \(op) needs a numeric value")
          return nil
        }
      case "exists":
        guard value.boolValue != nil else {
          problem(problemNode, "\(what): operator exists needs true or false")
          return nil
        }
      case "regex":
        guard let pattern = value.stringValue else {
          problem(problemNode, "\(what): operator regex needs a string pattern")
          return nil
        }
        do {
          _ = try ConditionCheck.compiled(pattern)
        } catch {
          problem(problemNode, "\(what): invalid regex '\(pattern)': \(error)")
          return nil
        }
      default:
        guard valueNode != nil else {
          problem(node, "\(what): operator \(op) needs a value")
          return nil
        }
      }
      return Policy.Condition(path: path, op: op, value: value)
    }

    /// A scalar typed by YAML 1.2's core schema, as Go's YAML library (Intercept's) types it:
    /// quoted scalars are strings; plain ones are null (`~`, `null`, empty), booleans (`true`,
    /// `false`), decimal integers, floats (`1.5`, `1e3`, `.inf`), else strings — so YAML 1.1's
    /// `yes`/`no`/`on`/`off`, `0755`, `0x1F` and `1:30` stay strings.
    static func coreScalar(_ scalar: Node.Scalar) -> JSONValue {
      let text = scalar.string
      guard scalar.style == .plain || scalar.style == .any else { return .string(text) }
      switch text {
      case "", "~", "null", "Null", "NULL": return .null
      case "true", "True", "TRUE": return .bool(true)
      case "false", "False", "FALSE": return .bool(false)
      case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .number(.infinity)
      case "-.inf", "-.Inf", "-.INF": return .number(-.infinity)
      case ".nan", ".NaN", ".NAN": return .number(.nan)
      default: break
      }
      let unsigned = text.hasPrefix("-") || text.hasPrefix("+") ? text.dropFirst() : Substring(text)
      let isDigit = { (c: Character) in c.isASCII && c.isNumber }
      if !unsigned.isEmpty && unsigned.allSatisfy(isDigit) {
        // A leading zero is octal in YAML 1.1 and Go's base-0 parse: kept as text, as written.
        return unsigned.count > 1 && unsigned.hasPrefix("0")
          ? .string(text) : (Double(text).map(JSONValue.number) ?? .string(text))
      }
      let isFloat = Self.isCoreFloat(unsigned)
      if isFloat, let value = Double(text) { return .number(value) }
      return .string(text)
    }

    /// A scalar's number (YAML 1.2 core: `10`, `2.5`, `1e3`), else `nil`. (Yams' own `int` and
    /// `float` read YAML 1.1's sexagesimal forms through generic code that was a fifth of
    /// loading a policy.)
    static func number(_ node: Node) -> Double? {
      guard case .scalar(let scalar) = node, case .number(let value) = coreScalar(scalar) else { return nil }
      return value
    }

    /// Whether unsigned text is a YAML 1.2 core float: digits with a point, an exponent or both
    /// (`1.5`, `.5`, `2.`, `1e3`, `1.5E-3`).
    static func isCoreFloat(_ text: Substring) -> Bool {
      let digits = { (part: Substring) in part.allSatisfy { $0.isASCII && $0.isNumber } }
      var mantissa = text
      var exponent: Substring?
      if let mark = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
        exponent = text[text.index(after: mark)...]
        mantissa = text[..<mark]
      }
      let pieces = mantissa.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
      guard pieces.allSatisfy(digits), pieces.contains(where: { !$0.isEmpty }), pieces.count == 2 || exponent != nil
      else { return false }
      guard let exponent else { return true }
      let magnitude = exponent.hasPrefix("-") || exponent.hasPrefix("+") ? exponent.dropFirst() : exponent
      return !magnitude.isEmpty && digits(magnitude)
    }

    /// A YAML value as JSON, typed as ``coreScalar(_:)`` types scalars.
    static func json(_ node: Node) -> JSONValue {
      switch node {
      case .scalar(let scalar): return coreScalar(scalar)
      case .sequence(let sequence): return .array(sequence.map(json))
      case .mapping(let mapping):
        var members: [String: JSONValue] = [:]
        for (key, value) in mapping { members[key.string ?? ""] = json(value) }
        return .object(members)
      case .alias: return .null
      }
    }

    mutating func readRateLimit(_ node: Node, _ what: String) -> Policy.RateLimit? {
      let shapes = "{max: N, window: SECONDS} or \"N/second|minute|hour|day\" or \"N/30s\""
      let bounds = "max 1…\(Self.maximumCount), window up to \(Int(Self.maximumWindow)) s (366 days)"
      if case .scalar = node, let text = node.string {
        guard let parsed = Self.parseRate(text) else {
          problem(node, "\(what) must be \(shapes), got '\(text)'")
          return nil
        }
        guard Self.inBounds(parsed) else {
          problem(node, "\(what) '\(text)' is out of range (\(bounds))")
          return nil
        }
        return parsed
      }
      guard let fields = mapping(node, what, allowed: ["max", "window"]) else { return nil }
      guard let maxNode = fields["max"], let windowNode = fields["window"] else {
        problem(node, "\(what) needs both max and window (seconds)")
        return nil
      }
      guard let max = integer(maxNode, "\(what).max", minimum: 1) else { return nil }
      let window: Double?
      if case .scalar(let scalar) = windowNode, case .number(let seconds) = Self.coreScalar(scalar) {
        window = seconds
      } else if let text = windowNode.string, let unit = Self.unitSeconds(text) {
        window = unit
      } else {
        window = nil
      }
      guard let window, window > 0, window.isFinite else {
        problem(windowNode, "\(what).window must be a positive number of seconds or second|minute|hour|day")
        return nil
      }
      let parsed = Policy.RateLimit(max: max, window: window)
      guard Self.inBounds(parsed) else {
        problem(node, "\(what) is out of range (\(bounds))")
        return nil
      }
      return parsed
    }

    /// The largest rate-limit count and window vlatune accepts.
    static let maximumCount = 1_000_000
    static let maximumWindow = 366.0 * 86_400

    static func inBounds(_ limit: Policy.RateLimit) -> Bool {
      limit.max >= 1 && limit.max <= maximumCount && limit.window >= 0.001 && limit.window <= maximumWindow
    }

    static func unitSeconds(_ unit: String) -> Double? {
      [
        "second": 1, "sec": 1, "s": 1, "minute": 60, "min": 60, "m": 60, "hour": 3600, "h": 3600,
        "day": 86400, "d": 86400,
      ][unit.lowercased()]
    }

    static func parseRate(_ text: String) -> Policy.RateLimit? {
      let parts = text.split(separator: "/").map { String($0).trimmingWhitespace() }
      guard parts.count == 2, let max = Int(parts[0]), max >= 1 else { return nil }
      if let seconds = unitSeconds(parts[1]) { return Policy.RateLimit(max: max, window: seconds) }
      if parts[1].hasSuffix("s"), let seconds = Double(parts[1].dropLast()), seconds > 0, seconds.isFinite {
        return Policy.RateLimit(max: max, window: seconds)
      }
      return nil
    }

    mutating func readLimits(_ node: Node, into limits: inout Policy.Limits) {
      let keys = [
        "max_running_jobs", "max_queued_jobs", "gpu_hours_per_day", "base_models",
        "dataset_roots", "step_seconds", "idempotency_ttl_hours", "executors",
        "default_executor",
      ]
      guard let fields = mapping(node, "limits", allowed: keys) else { return }
      if let value = fields["max_running_jobs"], let parsed = integer(value, "limits.max_running_jobs", minimum: 1) {
        limits.maxRunningJobs = parsed
      }
      if let value = fields["max_queued_jobs"], let parsed = integer(value, "limits.max_queued_jobs", minimum: 0) {
        limits.maxQueuedJobs = parsed
      }
      if let value = fields["gpu_hours_per_day"],
        let parsed = number(value, "limits.gpu_hours_per_day", maximum: 1_000_000)
      {
        limits.gpuHoursPerDay = parsed
      }
      if let value = fields["step_seconds"], let parsed = number(value, "limits.step_seconds", maximum: 86_400) {
        limits.stepSeconds = parsed
      }
      if let value = fields["idempotency_ttl_hours"],
        let parsed = number(value, "limits.idempotency_ttl_hours", maximum: 8_784)
      {
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
