/// Encodes a ``JSONValue`` with `JSONEncoder`.
public struct AnyJSON: Encodable, Sendable {
  /// The value.
  public var value: JSONValue
  /// Wraps a value.
  public init(_ value: JSONValue) { self.value = value }

  /// Encodes the value as the JSON it represents.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    switch value {
    case .null: try container.encodeNil()
    case .bool(let flag): try container.encode(flag)
    case .number(let number):
      if number == number.rounded() && abs(number) < 1e15 {
        try container.encode(Int64(number))
      } else {
        try container.encode(number)
      }
    case .string(let text): try container.encode(text)
    case .array(let items): try container.encode(items.map(AnyJSON.init))
    case .object(let members): try container.encode(members.mapValues(AnyJSON.init))
    }
  }
}
