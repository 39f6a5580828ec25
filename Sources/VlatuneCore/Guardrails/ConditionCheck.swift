/// Evaluates a policy ``Policy/Condition`` against a call's arguments with Intercept's meaning
/// (`internal/engine/operators.go`): a missing path fails every operator but `exists: false`;
/// `exists` counts a JSON `null` as absent; `eq` compares numbers as numbers and anything else
/// by its text; the comparisons need numbers on both sides (a string `"100"` is not one);
/// `contains` is a substring of a string or an element of a list; `regex` searches a string.
enum ConditionCheck {
  /// Whether the condition holds for `arguments`.
  static func holds(_ condition: Policy.Condition, in arguments: [String: JSONValue]) -> Bool {
    let expected = condition.value.value
    let actual = resolve(condition.path, in: arguments)
    if condition.op == "exists" {
      let present = actual != nil && actual != .null
      return present == (expected.boolValue ?? true)
    }
    guard let actual else { return false }
    switch condition.op {
    case "eq": return equal(actual, expected)
    case "neq": return !equal(actual, expected)
    case "in": return expected.arrayValue?.contains { equal(actual, $0) } ?? false
    case "not_in": return !(expected.arrayValue?.contains { equal(actual, $0) } ?? false)
    case "lt": return compare(actual, expected, <)
    case "lte": return compare(actual, expected, <=)
    case "gt": return compare(actual, expected, >)
    case "gte": return compare(actual, expected, >=)
    case "contains":
      if let text = actual.stringValue, let part = expected.stringValue { return text.contains(part) }
      return actual.arrayValue?.contains { equal($0, expected) } ?? false
    case "regex":
      guard let text = actual.stringValue, let pattern = expected.stringValue,
        let regex = try? Regex(pattern)
      else { return false }
      return text.contains(regex)
    default: return false
    }
  }

  /// The value at `args.a.b…`, or `nil` when any segment is missing.
  static func resolve(_ path: String, in arguments: [String: JSONValue]) -> JSONValue? {
    guard path.hasPrefix("args.") else { return nil }
    var current: JSONValue = .object(arguments)
    for part in path.dropFirst(5).split(separator: ".", omittingEmptySubsequences: false) {
      guard let next = current.objectValue?[String(part)] else { return nil }
      current = next
    }
    return current
  }

  /// How the argument a condition tests reads in a refusal.
  static func describe(_ condition: Policy.Condition, in arguments: [String: JSONValue]) -> String {
    let argument = String(condition.path.dropFirst(5))
    let shown = resolve(condition.path, in: arguments).map { text($0, quoted: true) } ?? "absent"
    return "\(condition.path) \(condition.op) \(text(condition.value.value, quoted: true)) "
      + "does not hold (\(argument) is \(shown))"
  }

  private static func equal(_ actual: JSONValue, _ expected: JSONValue) -> Bool {
    if let left = actual.numberValue, let right = expected.numberValue { return left == right }
    return text(actual, quoted: false) == text(expected, quoted: false)
  }

  private static func compare(
    _ actual: JSONValue, _ expected: JSONValue, _ order: (Double, Double) -> Bool
  ) -> Bool {
    guard let left = actual.numberValue, let right = expected.numberValue else { return false }
    return order(left, right)
  }

  /// A value as text: integral numbers without a fraction, strings as they are (or quoted).
  static func text(_ value: JSONValue, quoted: Bool) -> String {
    switch value {
    case .null: return "null"
    case .bool(let flag): return flag ? "true" : "false"
    case .number(let number):
      if number.isFinite && number == number.rounded() && abs(number) < 1e15 { return String(Int64(number)) }
      return "\(number)"
    case .string(let string): return quoted ? "'\(string)'" : string
    case .array(let items): return "[" + items.map { text($0, quoted: true) }.joined(separator: ", ") + "]"
    case .object: return "an object"
    }
  }
}
