/// A parsed JSON value.
///
/// vlatune parses recorder output itself (rather than with `JSONSerialization`) so that the
/// non-standard tokens `NaN`, `Infinity` and `-Infinity`, which Python's `json` module writes,
/// are read as numbers and reported as bad values with their exact location.
public enum JSONValue: Sendable, Equatable {
  /// `null`.
  case null
  /// `true` or `false`.
  case bool(Bool)
  /// Any number, including NaN and the infinities.
  case number(Double)
  /// A string.
  case string(String)
  /// An array.
  case array([JSONValue])
  /// An object; keys keep their first occurrence.
  case object([String: JSONValue])

  /// The value for a key when this is an object.
  public subscript(key: String) -> JSONValue? {
    if case .object(let members) = self { return members[key] }
    return nil
  }

  /// The string, when this is a string.
  public var stringValue: String? {
    if case .string(let value) = self { return value }
    return nil
  }

  /// The number, when this is a number.
  public var numberValue: Double? {
    if case .number(let value) = self { return value }
    return nil
  }

  /// The number as a count (a size, a dimension, a layer count), when it is a whole number in
  /// 0 … 2⁴⁰; `nil` otherwise, so a hostile file cannot trap a conversion or overflow a product
  /// of a few of them.
  public var countValue: Int? {
    guard case .number(let value) = self, value >= 0, value <= 0x100_0000_0000, value.rounded() == value else {
      return nil
    }
    return Int(value)
  }

  /// The flag, when this is a boolean.
  public var boolValue: Bool? {
    if case .bool(let value) = self { return value }
    return nil
  }

  /// The elements, when this is an array.
  public var arrayValue: [JSONValue]? {
    if case .array(let value) = self { return value }
    return nil
  }

  /// The members, when this is an object.
  public var objectValue: [String: JSONValue]? {
    if case .object(let value) = self { return value }
    return nil
  }

  /// A short name of the value's type for error messages.
  public var typeName: String {
    switch self {
    case .null: "null"
    case .bool: "a boolean"
    case .number: "a number"
    case .string: "a string"
    case .array: "an array"
    case .object: "an object"
    }
  }
}
