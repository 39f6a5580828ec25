import VlatuneSupport

/// A set of parameter definitions that validates raw values all at once.
public struct ParameterTable: Sendable {
  /// The definitions, in documentation order.
  public let definitions: [ParameterDefinition]

  /// A table of definitions.
  public init(_ definitions: [ParameterDefinition]) { self.definitions = definitions }

  /// The definition of a name.
  public subscript(name: String) -> ParameterDefinition? {
    definitions.first { $0.name == name }
  }

  /// Converts command-line strings into typed values (numbers parsed, lists split); values that
  /// do not parse are kept as strings so that validation reports them with the expected type.
  public func fromCommandLine(_ raw: [String: String]) -> [String: JSONValue] {
    var values: [String: JSONValue] = [:]
    for (name, text) in raw {
      guard let definition = self[name] else {
        values[name] = .string(text)
        continue
      }
      switch definition.kind {
      case .integer, .number:
        if let number = Double(text.trimmingWhitespace()) {
          values[name] = .number(number)
        } else {
          values[name] = .string(text)
        }
      case .boolean:
        values[name] =
          ["true", "1", "yes"].contains(text.lowercased())
          ? .bool(true)
          : ["false", "0", "no"].contains(text.lowercased()) ? .bool(false) : .string(text)
      case .stringList:
        values[name] = .array(
          text.split(separator: ",").map { .string(String($0).trimmingWhitespace()) })
      case .keyValues:
        var members: [String: JSONValue] = [:]
        for pair in text.split(separator: ",") {
          let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
          members[parts[0].trimmingWhitespace()] = .string(parts.count > 1 ? parts[1] : "")
        }
        values[name] = .object(members)
      case .string, .choice:
        values[name] = .string(text)
      }
    }
    return values
  }

  /// Validates values and fills in defaults.
  ///
  /// - Returns: Every defined parameter that has a value or a default.
  /// - Throws: ``VlatuneError/invalidParameters(_:)`` listing every problem (unknown names,
  ///   wrong types, out-of-range values, missing required parameters).
  public func validate(_ values: [String: JSONValue]) throws -> [String: JSONValue] {
    var problems: [ParameterProblem] = []
    for name in values.keys.sorted() where self[name] == nil {
      problems.append(
        ParameterProblem(
          param: name,
          message: "unknown parameter '\(name)'; known: "
            + definitions.map(\.name).joined(separator: ", ")))
    }
    var resolved: [String: JSONValue] = [:]
    for definition in definitions {
      guard let value = values[definition.name], value != .null else {
        if definition.required && definition.requiredUnless.map({ values[$0] == nil }) ?? true {
          let unless = definition.requiredUnless.map { " (or \($0), to take it from another job)" } ?? ""
          problems.append(
            ParameterProblem(
              param: definition.name,
              message: "\(definition.label) is required\(unless): \(definition.help)"))
        } else if let fallback = definition.defaultValue {
          resolved[definition.name] = fallback
        }
        continue
      }
      if let problem = Self.check(value, against: definition) {
        problems.append(ParameterProblem(param: definition.name, message: problem))
      } else {
        resolved[definition.name] = value
      }
    }
    if !problems.isEmpty { throw VlatuneError.invalidParameters(problems) }
    return resolved
  }

  /// A value as a message shows it: strings quoted, numbers plain, the rest as compact JSON.
  public static func shown(_ value: JSONValue) -> String {
    switch value {
    case .string(let text): return "'\(text)'"
    case .number(let number): return ParameterDefinition.format(number)
    default: return (try? JSONOutput.string(AnyJSON(value), pretty: false)) ?? value.typeName
    }
  }

  package static func check(_ value: JSONValue, against definition: ParameterDefinition) -> String? {
    let label = definition.label
    let shown = Self.shown
    switch definition.kind {
    case .string(let maxLength):
      guard let text = value.stringValue else {
        return "\(label) must be a string, got \(shown(value)) (\(value.typeName))"
      }
      if definition.required && text.trimmingWhitespace().isEmpty { return "\(label) must not be empty" }
      if text.utf8.count > maxLength { return "\(label) must be at most \(maxLength) bytes, got \(text.utf8.count)" }
      if text.unicodeScalars.contains(where: { $0.value < 0x20 }) {
        return "\(label) must not contain control characters"
      }
    case .choice(let choices):
      guard let text = value.stringValue, choices.contains(text) else {
        return "\(label) must be \(definition.allowed), got \(shown(value))"
      }
    case .boolean:
      if case .bool = value { return nil }
      return "\(label) must be true or false, got \(shown(value))"
    case .integer, .number:
      guard let number = value.numberValue, number.isFinite else {
        return "\(label) must be a \(definition.kind == .integer ? "whole number" : "number") in "
          + "\(definition.allowed), got \(shown(value))"
      }
      if definition.kind == .integer && number != number.rounded() {
        return "\(label) must be a whole number in \(definition.allowed), got \(shown(value))"
      }
      let tooLow = definition.minimum.map { definition.exclusiveMinimum ? number <= $0 : number < $0 } ?? false
      let tooHigh = definition.maximum.map { definition.exclusiveMaximum ? number >= $0 : number > $0 } ?? false
      if tooLow || tooHigh {
        return "\(label) must be in \(definition.allowed)\(definition.unit.map { " \($0)" } ?? ""), got \(shown(value))"
      }
    case .stringList(let maxItems):
      guard let items = value.arrayValue, items.allSatisfy({ $0.stringValue?.isEmpty == false }) else {
        return "\(label) must be a list of names, got \(shown(value))"
      }
      if items.count > maxItems { return "\(label) must have at most \(maxItems) items, got \(items.count)" }
    case .keyValues(let maxPairs, let maxKey, let maxValue):
      guard let members = value.objectValue else {
        return "\(label) must be key=value pairs, got \(shown(value))"
      }
      if members.count > maxPairs { return "\(label) must have at most \(maxPairs) pairs, got \(members.count)" }
      for (key, item) in members.sorted(by: { $0.key < $1.key }) {
        guard let text = item.stringValue else { return "\(label) value of '\(key)' must be a string" }
        if key.isEmpty || key.utf8.count > maxKey { return "\(label) keys must be 1–\(maxKey) bytes, got '\(key)'" }
        if text.utf8.count > maxValue { return "\(label) value of '\(key)' must be at most \(maxValue) bytes" }
      }
    }
    return nil
  }
}
