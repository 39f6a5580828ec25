import VlatuneSupport

/// A reader for Apache Thrift's compact protocol, the encoding of Parquet's footer and page
/// headers: varints with zig-zag signs, field headers holding the id delta and the type.
///
/// Only decoding is needed; unknown fields are skipped, so newer writers' extra fields are
/// harmless.
struct ThriftCompactReader {
  /// Compact-protocol type codes.
  enum FieldType: UInt8 {
    case stop = 0
    case boolTrue = 1
    case boolFalse = 2
    case byte = 3
    case i16 = 4
    case i32 = 5
    case i64 = 6
    case double = 7
    case binary = 8
    case list = 9
    case set = 10
    case map = 11
    case structure = 12
  }

  private let bytes: [UInt8]
  /// The next byte to read.
  private(set) var position: Int
  private let end: Int
  /// Nesting depth of structs and containers being read (bounded against hostile input).
  private var depth = 0
  private static let maximumDepth = 64

  init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil) {
    self.bytes = bytes
    self.position = start
    self.end = min(end ?? bytes.count, bytes.count)
  }

  private mutating func byte() throws -> UInt8 {
    guard position < end else { throw ParquetError.malformed("Thrift data ends early") }
    defer { position += 1 }
    return bytes[position]
  }

  /// An unsigned LEB128 varint.
  mutating func varint() throws -> UInt64 {
    var result: UInt64 = 0
    var shift: UInt64 = 0
    while true {
      let next = try byte()
      guard shift < 64 else { throw ParquetError.malformed("Thrift varint is too long") }
      result |= UInt64(next & 0x7f) << shift
      if next & 0x80 == 0 { return result }
      shift += 7
    }
  }

  mutating func i64() throws -> Int64 {
    let raw = try varint()
    return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
  }

  mutating func i32() throws -> Int32 {
    let value = try i64()
    guard let narrowed = Int32(exactly: value) else {
      throw ParquetError.malformed("Thrift i32 out of range: \(value)")
    }
    return narrowed
  }

  /// An i32 used as a count or size: must be non-negative.
  mutating func count() throws -> Int {
    let value = try i32()
    guard value >= 0 else { throw ParquetError.malformed("negative Thrift size \(value)") }
    return Int(value)
  }

  mutating func binary() throws -> [UInt8] {
    let length = try varint()
    guard length <= UInt64(end - position) else {
      throw ParquetError.malformed("Thrift binary of \(length) bytes runs past the data")
    }
    let start = position
    position += Int(length)
    return Array(bytes[start..<position])
  }

  mutating func string() throws -> String {
    String(decoding: try binary(), as: UTF8.self)
  }

  /// A boolean field's value, which the compact protocol stores in the field type.
  func bool(_ type: FieldType) -> Bool { type == .boolTrue }

  /// The next field of the struct being read, or `nil` at its end. `lastID` is the previous
  /// field's id (start with 0 for each struct).
  mutating func nextField(_ lastID: inout Int16) throws -> (id: Int16, type: FieldType)? {
    let header = try byte()
    guard let type = FieldType(rawValue: header & 0x0f) else {
      throw ParquetError.malformed("unknown Thrift field type \(header & 0x0f)")
    }
    if type == .stop { return nil }
    let delta = Int16(header >> 4)
    lastID = delta != 0 ? lastID &+ delta : Int16(truncatingIfNeeded: try i64())
    return (lastID, type)
  }

  /// A list header: element count and element type.
  mutating func listHeader() throws -> (count: Int, type: FieldType) {
    let header = try byte()
    guard let type = FieldType(rawValue: header & 0x0f) else {
      throw ParquetError.malformed("unknown Thrift list element type \(header & 0x0f)")
    }
    var count = Int(header >> 4)
    if count == 15 {
      let long = try varint()
      guard long <= UInt64(end - position) else {
        throw ParquetError.malformed("Thrift list of \(long) elements runs past the data")
      }
      count = Int(long)
    }
    return (count, type)
  }

  /// Reads a list whose elements `element` decodes.
  mutating func list<Element>(_ element: (inout ThriftCompactReader) throws -> Element) throws
    -> [Element]
  {
    let (count, _) = try listHeader()
    var result: [Element] = []
    result.reserveCapacity(count)
    for _ in 0..<count { result.append(try element(&self)) }
    return result
  }

  /// Enters a nested struct (depth-limited).
  mutating func enter() throws {
    depth += 1
    guard depth <= Self.maximumDepth else { throw ParquetError.malformed("Thrift nesting too deep") }
  }

  mutating func leave() { depth -= 1 }

  /// Skips one element of a list, set or map. Every element takes at least one byte (a bool is a
  /// byte there, and `stop` is no element type), so a hostile count cannot make nested
  /// collections of empty elements loop for longer than the data is long.
  private mutating func skipElement(_ type: FieldType) throws {
    switch type {
    case .stop: throw ParquetError.malformed("Thrift collection of stop elements")
    case .boolTrue, .boolFalse: _ = try byte()
    default: try skip(type)
    }
  }

  /// Skips a value of `type`.
  mutating func skip(_ type: FieldType) throws {
    switch type {
    case .stop, .boolTrue, .boolFalse: return
    case .byte: _ = try byte()
    case .i16, .i32, .i64: _ = try varint()
    case .double:
      guard end - position >= 8 else { throw ParquetError.malformed("Thrift double ends early") }
      position += 8
    case .binary: _ = try binary()
    case .list, .set:
      let (count, element) = try listHeader()
      try enter()
      defer { leave() }
      for _ in 0..<count { try skipElement(element) }
    case .map:
      let count = try varint()
      guard count > 0 else { return }
      guard count <= UInt64(end - position) else {
        throw ParquetError.malformed("Thrift map of \(count) entries runs past the data")
      }
      let types = try byte()
      guard let key = FieldType(rawValue: types >> 4), let value = FieldType(rawValue: types & 0x0f)
      else { throw ParquetError.malformed("unknown Thrift map types") }
      try enter()
      defer { leave() }
      for _ in 0..<count {
        try skipElement(key)
        try skipElement(value)
      }
    case .structure:
      try enter()
      defer { leave() }
      var last: Int16 = 0
      while let (_, fieldType) = try nextField(&last) { try skip(fieldType) }
    }
  }
}
