import Foundation

/// The one JSON encoder configuration for every document vlatune prints or writes.
public enum JSONOutput {
  /// Pretty-printed, sorted keys, slashes unescaped.
  public static func encode<T: Encodable>(_ value: T, pretty: Bool = true) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting =
      pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
    return try encoder.encode(value)
  }

  /// The encoded value as a string.
  public static func string<T: Encodable>(_ value: T, pretty: Bool = true) throws -> String {
    String(decoding: try encode(value, pretty: pretty), as: UTF8.self)
  }

  /// Decodes a document written by ``encode(_:pretty:)``.
  public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
    try JSONDecoder().decode(type, from: data)
  }

  /// A JSON string literal for `text` (quoted and escaped).
  public static func quoted(_ text: String) -> String {
    (try? string(text, pretty: false)) ?? "\"\""
  }
}
