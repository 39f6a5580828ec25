import Foundation

/// A JSON value that round-trips through `Codable` (for reports).
public struct AnyJSONValue: Codable, Sendable, Equatable {
  /// The value.
  public var value: JSONValue
  /// Wraps a value.
  public init(_ value: JSONValue) { self.value = value }
  /// Encodes the JSON it represents.
  public func encode(to encoder: any Encoder) throws { try AnyJSON(value).encode(to: encoder) }
  /// Decodes any JSON value.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      value = .null
    } else if let flag = try? container.decode(Bool.self) {
      value = .bool(flag)
    } else if let number = try? container.decode(Double.self) {
      value = .number(number)
    } else if let text = try? container.decode(String.self) {
      value = .string(text)
    } else if let items = try? container.decode([AnyJSONValue].self) {
      value = .array(items.map(\.value))
    } else {
      value = .object(try container.decode([String: AnyJSONValue].self).mapValues(\.value))
    }
  }
}
