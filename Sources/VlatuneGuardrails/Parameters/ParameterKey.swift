import VlatuneSupport

/// The Swift type a parameter's validated JSON value is read as.
public protocol ParameterValue: Sendable {
  /// The value, or `nil` when the JSON has another type.
  init?(parameter: JSONValue)
  /// Whether a definition of `kind` validates into values of this type.
  static func accepts(_ kind: ParameterDefinition.Kind) -> Bool
}

extension Int: ParameterValue {
  public init?(parameter: JSONValue) {
    guard let number = parameter.numberValue, number == number.rounded(), abs(number) < 1e15 else { return nil }
    self = Int(number)
  }
  public static func accepts(_ kind: ParameterDefinition.Kind) -> Bool { kind == .integer }
}

extension Double: ParameterValue {
  public init?(parameter: JSONValue) {
    guard let number = parameter.numberValue else { return nil }
    self = number
  }
  public static func accepts(_ kind: ParameterDefinition.Kind) -> Bool { kind == .number }
}

extension Bool: ParameterValue {
  public init?(parameter: JSONValue) {
    guard let flag = parameter.boolValue else { return nil }
    self = flag
  }
  public static func accepts(_ kind: ParameterDefinition.Kind) -> Bool { kind == .boolean }
}

extension String: ParameterValue {
  public init?(parameter: JSONValue) {
    guard let text = parameter.stringValue else { return nil }
    self = text
  }
  public static func accepts(_ kind: ParameterDefinition.Kind) -> Bool {
    switch kind {
    case .string, .choice: true
    default: false
    }
  }
}

extension Array: ParameterValue where Element == String {
  public init?(parameter: JSONValue) {
    guard let items = parameter.arrayValue else { return nil }
    let strings = items.compactMap(\.stringValue)
    guard strings.count == items.count else { return nil }
    self = strings
  }
  public static func accepts(_ kind: ParameterDefinition.Kind) -> Bool {
    if case .stringList = kind { return true }
    return false
  }
}

extension Dictionary: ParameterValue where Key == String, Value == String {
  public init?(parameter: JSONValue) {
    guard let members = parameter.objectValue else { return nil }
    let strings = members.compactMapValues(\.stringValue)
    guard strings.count == members.count else { return nil }
    self = strings
  }
  public static func accepts(_ kind: ParameterDefinition.Kind) -> Bool {
    if case .keyValues = kind { return true }
    return false
  }
}

/// A parameter whose table gives it a default: once validated it always has a value, read
/// through this key rather than restated (`request[.batchSize]`).
public struct Parameter<Value: ParameterValue>: Sendable, TypedParameter {
  /// The parameter's name in its table.
  public let name: String
  /// The key of the parameter `name`.
  public init(_ name: String) { self.name = name }
  public var valueType: any ParameterValue.Type { Value.self }
  public var hasDefault: Bool { true }
}

/// A parameter without a default: absent unless the caller gives it.
public struct OptionalParameter<Value: ParameterValue>: Sendable, TypedParameter {
  /// The parameter's name in its table.
  public let name: String
  /// The key of the parameter `name`.
  public init(_ name: String) { self.name = name }
  public var valueType: any ParameterValue.Type { Value.self }
  public var hasDefault: Bool { false }
}

/// Either kind of key, for the check that the keys and their table agree.
public protocol TypedParameter: Sendable {
  /// The parameter's name in its table.
  var name: String { get }
  /// The Swift type of its value.
  var valueType: any ParameterValue.Type { get }
  /// Whether the key expects the table to give a default.
  var hasDefault: Bool { get }
}

/// Validated parameters (the table's defaults filled in), read through typed keys.
public struct ParameterValues: Sendable, Equatable {
  /// The values by name, as validated.
  public let values: [String: JSONValue]

  /// Wraps values a ``ParameterTable`` validated.
  public init(_ values: [String: JSONValue]) { self.values = values }

  /// A defaulted parameter's value (the caller's, else the table's default).
  public subscript<Value>(_ key: Parameter<Value>) -> Value {
    guard let value = values[key.name].flatMap(Value.init(parameter:)) else {
      // The keys' test holds every `Parameter` to a table default of its type.
      preconditionFailure("parameter \(key.name) has no validated value of type \(Value.self)")
    }
    return value
  }

  /// An optional parameter's value, when given.
  public subscript<Value>(_ key: OptionalParameter<Value>) -> Value? {
    values[key.name].flatMap(Value.init(parameter:))
  }
}

extension ParameterTable {
  /// The problems between typed keys and this table: a key naming no parameter, a value type
  /// the parameter's kind does not validate into, a default expected but absent (or the other
  /// way round), and a parameter no key reads. Empty when they agree (a test holds every table
  /// to its keys).
  public func mismatches(_ keys: [any TypedParameter]) -> [String] {
    var problems: [String] = []
    for key in keys {
      guard let definition = self[key.name] else {
        problems.append("key \(key.name) names no parameter of the table")
        continue
      }
      if !key.valueType.accepts(definition.kind) {
        problems.append("key \(key.name) reads \(key.valueType) but the parameter is \(definition.kind)")
      }
      if key.hasDefault != (definition.defaultValue != nil) {
        problems.append(
          key.hasDefault
            ? "key \(key.name) expects a default the table does not give"
            : "key \(key.name) is optional but the table gives a default: make it a Parameter")
      }
      if let value = definition.defaultValue, key.valueType.init(parameter: value) == nil {
        problems.append("the default of \(key.name) is not a \(key.valueType)")
      }
    }
    let named = Set(keys.map(\.name))
    for definition in definitions where !named.contains(definition.name) {
      problems.append("parameter \(definition.name) has no typed key")
    }
    return problems
  }
}
