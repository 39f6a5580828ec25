import VlatuneSupport

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
        let regex = try? compiled(pattern)
      else { return false }
      return text.contains(regex)
    default: return false
    }
  }

  /// A pattern with RE2's meanings where Swift's differ: `\d`, `\w`, `\s` and `[[:alpha:]]` are
  /// ASCII classes, and `.` matches one Unicode scalar, not a whole grapheme.
  static func compiled(_ pattern: String) throws -> Regex<AnyRegexOutput> {
    try Regex(pattern).asciiOnlyCharacterClasses().matchingSemantics(.unicodeScalar)
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
    return goText(actual, fromJSON: true) == goText(expected, fromJSON: false)
  }

  /// A value as Go's `fmt.Sprintf("%v", …)` writes it, which Intercept's `eq` compares when the
  /// two sides are not both numbers: `<nil>`, `true`, `[a b]`, `map[k:v]`, and numbers as Go
  /// holds them — a JSON argument's as float64 (`1e+06`), a policy value's integral ones as int.
  static func goText(_ value: JSONValue, fromJSON: Bool) -> String {
    switch value {
    case .null: return "<nil>"
    case .bool(let flag): return flag ? "true" : "false"
    case .number(let number):
      if !fromJSON && number == number.rounded() && abs(number) < 9.2e18 { return String(Int64(number)) }
      return goFloat(number)
    case .string(let string): return string
    case .array(let items): return "[" + items.map { goText($0, fromJSON: fromJSON) }.joined(separator: " ") + "]"
    case .object(let members):
      return "map["
        + members.keys.sorted().map { "\($0):\(goText(members[$0]!, fromJSON: fromJSON))" }.joined(separator: " ")
        + "]"
    }
  }

  /// Go's `%v` of a float64: the shortest digits, in `%e` form when the exponent is below -4 or
  /// at least 6 (`1e+06`, `1.5e-05`), else plain (`123456`, `0.0001`).
  static func goFloat(_ number: Double) -> String {
    guard number.isFinite else { return number.isNaN ? "NaN" : (number > 0 ? "+Inf" : "-Inf") }
    if number == 0 { return number.sign == .minus ? "-0" : "0" }
    let sign = number < 0 ? "-" : ""
    // Swift's description is also the shortest round-trip form; take its digits and exponent.
    var text = "\(abs(number))"
    var exponent = 0
    if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
      exponent = Int(text[text.index(after: e)...]) ?? 0
      text = String(text[..<e])
    }
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    let whole = String(parts[0])
    let fraction = parts.count > 1 ? String(parts[1]) : ""
    var digits = whole + fraction
    var point = whole.count + exponent  // the decimal point's position in `digits`
    while digits.hasPrefix("0") && digits.count > 1 {
      digits.removeFirst()
      point -= 1
    }
    while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
    let decimalExponent = point - 1
    if decimalExponent < -4 || decimalExponent >= 6 {
      let mantissa = digits.count > 1 ? "\(digits.first!).\(digits.dropFirst())" : digits
      let magnitude = abs(decimalExponent)
      return sign + mantissa + (decimalExponent < 0 ? "e-" : "e+") + (magnitude < 10 ? "0" : "") + "\(magnitude)"
    }
    if point <= 0 { return sign + "0." + String(repeating: "0", count: -point) + digits }
    if point >= digits.count { return sign + digits + String(repeating: "0", count: point - digits.count) }
    return sign + digits.prefix(point) + "." + digits.dropFirst(point)
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
