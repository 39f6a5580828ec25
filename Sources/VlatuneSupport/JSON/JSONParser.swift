/// A strict, byte-oriented JSON parser that also accepts `NaN`, `Infinity` and `-Infinity`.
public struct JSONParser {
  /// A syntax error with the byte offset where parsing stopped.
  public struct SyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was expected.
    public var message: String
    /// Zero-based byte offset in the input.
    public var offset: Int
    /// The message with the offset.
    public var description: String { "\(message) at byte \(offset)" }
  }

  private let bytes: [UInt8]
  private let refusesDuplicateKeys: Bool
  private var index = 0
  private var depth = 0
  private static let maximumDepth = 64

  private init(_ bytes: [UInt8], refusesDuplicateKeys: Bool) {
    self.bytes = bytes
    self.refusesDuplicateKeys = refusesDuplicateKeys
  }

  /// Parses one complete JSON document. Of keys repeated in one object the first wins, unless
  /// `refusingDuplicateKeys`: then keys equal but for letter case (`name` and `NAME`) are a
  /// ``SyntaxError``, since two readers of such a message (a proxy and vlatune) can each see a
  /// different value.
  ///
  /// - Throws: ``SyntaxError`` for malformed input or trailing characters.
  public static func parse(_ bytes: [UInt8], refusingDuplicateKeys: Bool = false) throws -> JSONValue {
    var parser = JSONParser(bytes, refusesDuplicateKeys: refusingDuplicateKeys)
    parser.skipWhitespace()
    let value = try parser.parseValue()
    parser.skipWhitespace()
    guard parser.index == bytes.count else { throw parser.error("unexpected trailing characters") }
    return value
  }

  /// Parses one complete JSON document from a string.
  public static func parse(_ text: String) throws -> JSONValue {
    try parse(Array(text.utf8))
  }

  /// A key as a case-insensitive reader compares it: Go's `encoding/json` (which Intercept uses)
  /// matches field names with Unicode simple folding, where `ſ` (U+017F) is `s`, the Kelvin sign
  /// `K` is `k` and the Ångström sign `Å` is `å`, besides letter case.
  static func folded(_ key: String) -> String {
    var scalars = String.UnicodeScalarView()
    for scalar in key.unicodeScalars {
      switch scalar.value {
      case 0x017F: scalars.append("s")
      case 0x212A: scalars.append("k")
      case 0x212B: scalars.append("\u{E5}")
      default: scalars.append(scalar)
      }
    }
    return String(scalars).lowercased()
  }

  private func error(_ message: String) -> SyntaxError {
    SyntaxError(message: message, offset: index)
  }

  private mutating func skipWhitespace() {
    while index < bytes.count {
      switch bytes[index] {
      case 0x20, 0x09, 0x0A, 0x0D: index += 1
      default: return
      }
    }
  }

  private mutating func parseValue() throws -> JSONValue {
    guard index < bytes.count else { throw error("unexpected end of input") }
    switch bytes[index] {
    case UInt8(ascii: "{"): return try parseObject()
    case UInt8(ascii: "["): return try parseArray()
    case UInt8(ascii: "\""): return .string(try parseString())
    case UInt8(ascii: "t"):
      try expectLiteral("true")
      return .bool(true)
    case UInt8(ascii: "f"):
      try expectLiteral("false")
      return .bool(false)
    case UInt8(ascii: "n"):
      try expectLiteral("null")
      return .null
    case UInt8(ascii: "N"):
      try expectLiteral("NaN")
      return .number(.nan)
    case UInt8(ascii: "I"):
      try expectLiteral("Infinity")
      return .number(.infinity)
    default: return .number(try parseNumber())
    }
  }

  private mutating func expectLiteral(_ literal: StaticString) throws {
    let count = literal.utf8CodeUnitCount
    guard index + count <= bytes.count else { throw error("invalid literal") }
    let matches = literal.withUTF8Buffer { expected in
      (0..<count).allSatisfy { bytes[index + $0] == expected[$0] }
    }
    guard matches else { throw error("invalid literal") }
    index += count
  }

  private mutating func enter() throws {
    depth += 1
    if depth > Self.maximumDepth { throw error("nesting deeper than \(Self.maximumDepth)") }
  }

  private mutating func parseObject() throws -> JSONValue {
    try enter()
    defer { depth -= 1 }
    index += 1
    var members: [String: JSONValue] = [:]
    var folded: [String: String] = [:]
    skipWhitespace()
    if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
      index += 1
      return .object(members)
    }
    while true {
      skipWhitespace()
      guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
        throw error("expected a string key")
      }
      let key = try parseString()
      if refusesDuplicateKeys {
        if let earlier = folded.updateValue(key, forKey: Self.folded(key)) {
          throw error(
            earlier == key ? "duplicate key '\(key)'" : "duplicate key '\(key)' (also '\(earlier)')")
        }
      }
      skipWhitespace()
      guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
        throw error("expected ':'")
      }
      index += 1
      skipWhitespace()
      let value = try parseValue()
      if members[key] == nil { members[key] = value }
      skipWhitespace()
      guard index < bytes.count else { throw error("unterminated object") }
      if bytes[index] == UInt8(ascii: ",") {
        index += 1
        continue
      }
      guard bytes[index] == UInt8(ascii: "}") else { throw error("expected ',' or '}'") }
      index += 1
      return .object(members)
    }
  }

  private mutating func parseArray() throws -> JSONValue {
    try enter()
    defer { depth -= 1 }
    index += 1
    var elements: [JSONValue] = []
    skipWhitespace()
    if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
      index += 1
      return .array(elements)
    }
    while true {
      skipWhitespace()
      elements.append(try parseValue())
      skipWhitespace()
      guard index < bytes.count else { throw error("unterminated array") }
      if bytes[index] == UInt8(ascii: ",") {
        index += 1
        continue
      }
      guard bytes[index] == UInt8(ascii: "]") else { throw error("expected ',' or ']'") }
      index += 1
      return .array(elements)
    }
  }

  private mutating func parseNumber() throws -> Double {
    let start = index
    if bytes[index] == UInt8(ascii: "-") {
      index += 1
      if index < bytes.count, bytes[index] == UInt8(ascii: "I") {
        try expectLiteral("Infinity")
        return -.infinity
      }
    }
    var sawDigit = false
    while index < bytes.count {
      let byte = bytes[index]
      if byte >= 0x30 && byte <= 0x39 {
        sawDigit = true
      } else if byte != UInt8(ascii: ".") && byte != UInt8(ascii: "e") && byte != UInt8(ascii: "E")
        && byte != UInt8(ascii: "+") && byte != UInt8(ascii: "-")
      {
        break
      }
      index += 1
    }
    guard sawDigit else {
      index = start
      throw error("unexpected character")
    }
    let text = String(decoding: bytes[start..<index], as: UTF8.self)
    guard let value = Double(text) else {
      index = start
      throw error("invalid number '\(text)'")
    }
    return value
  }

  private mutating func parseString() throws -> String {
    index += 1
    let start = index
    var hasEscapes = false
    while index < bytes.count {
      let byte = bytes[index]
      if byte == UInt8(ascii: "\"") {
        if !hasEscapes {
          let text = String(decoding: bytes[start..<index], as: UTF8.self)
          index += 1
          return text
        }
        break
      }
      if byte == UInt8(ascii: "\\") {
        hasEscapes = true
        index += 2
        continue
      }
      if byte < 0x20 { throw error("control character in string") }
      index += 1
    }
    guard index < bytes.count else { throw error("unterminated string") }
    return try decodeEscapedString(from: start)
  }

  private mutating func decodeEscapedString(from start: Int) throws -> String {
    var scalars = String.UnicodeScalarView()
    var raw: [UInt8] = []
    index = start
    func flush() {
      if !raw.isEmpty {
        scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
        raw.removeAll(keepingCapacity: true)
      }
    }
    while index < bytes.count {
      let byte = bytes[index]
      if byte == UInt8(ascii: "\"") {
        index += 1
        flush()
        return String(scalars)
      }
      if byte != UInt8(ascii: "\\") {
        raw.append(byte)
        index += 1
        continue
      }
      flush()
      guard index + 1 < bytes.count else { throw error("unterminated escape") }
      let escape = bytes[index + 1]
      index += 2
      switch escape {
      case UInt8(ascii: "\""): scalars.append("\"")
      case UInt8(ascii: "\\"): scalars.append("\\")
      case UInt8(ascii: "/"): scalars.append("/")
      case UInt8(ascii: "b"): scalars.append("\u{08}")
      case UInt8(ascii: "f"): scalars.append("\u{0C}")
      case UInt8(ascii: "n"): scalars.append("\n")
      case UInt8(ascii: "r"): scalars.append("\r")
      case UInt8(ascii: "t"): scalars.append("\t")
      case UInt8(ascii: "u"):
        var code = try parseHex4()
        if (0xD800...0xDBFF).contains(code), index + 1 < bytes.count,
          bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
        {
          index += 2
          let low = try parseHex4()
          if (0xDC00...0xDFFF).contains(low) {
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
          } else {
            // A high surrogate without its low half (`\ud800\u0000`): a replacement character,
            // then the second escape as what it is.
            scalars.append("\u{FFFD}")
            code = low
          }
        }
        scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
      default: throw error("invalid escape")
      }
    }
    throw error("unterminated string")
  }

  private mutating func parseHex4() throws -> UInt32 {
    guard index + 4 <= bytes.count,
      let value = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
    else { throw error("invalid \\u escape") }
    index += 4
    return value
  }
}
