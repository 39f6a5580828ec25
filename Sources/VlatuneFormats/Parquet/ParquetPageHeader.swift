import VlatuneSupport

/// A Parquet page header (parquet.thrift `PageHeader`), the fields reading needs.
struct ParquetPageHeader {
  /// `PageType`: 0 data (v1), 2 dictionary, 3 data (v2); others are skipped.
  var type: Int32 = -1
  var uncompressedSize = 0
  var compressedSize = 0
  /// Values in the page (including nulls).
  var valueCount = 0
  /// `Encoding` of the values.
  var encoding: Int32 = 0
  /// v1: encodings of the definition and repetition levels (RLE expected).
  var definitionEncoding: Int32 = 3
  var repetitionEncoding: Int32 = 3
  /// v2: byte lengths of the (uncompressed) level sections and whether values are compressed.
  var definitionBytes = 0
  var repetitionBytes = 0
  var valuesCompressed = true

  static let dataPage: Int32 = 0
  static let dictionaryPage: Int32 = 2
  static let dataPageV2: Int32 = 3

  static func decode(_ reader: inout ThriftCompactReader) throws -> ParquetPageHeader {
    var header = ParquetPageHeader()
    var last: Int16 = 0
    while let (id, type) = try reader.nextField(&last) {
      switch (id, type) {
      case (1, .i32): header.type = try reader.i32()
      case (2, .i32): header.uncompressedSize = try reader.count()
      case (3, .i32): header.compressedSize = try reader.count()
      case (5, .structure): try header.decodeDataV1(&reader)
      case (7, .structure): try header.decodeDictionary(&reader)
      case (8, .structure): try header.decodeDataV2(&reader)
      default: try reader.skip(type)
      }
    }
    return header
  }

  private mutating func decodeDataV1(_ reader: inout ThriftCompactReader) throws {
    try reader.enter()
    defer { reader.leave() }
    var last: Int16 = 0
    while let (id, type) = try reader.nextField(&last) {
      switch (id, type) {
      case (1, .i32): valueCount = try reader.count()
      case (2, .i32): encoding = try reader.i32()
      case (3, .i32): definitionEncoding = try reader.i32()
      case (4, .i32): repetitionEncoding = try reader.i32()
      default: try reader.skip(type)
      }
    }
  }

  private mutating func decodeDictionary(_ reader: inout ThriftCompactReader) throws {
    try reader.enter()
    defer { reader.leave() }
    var last: Int16 = 0
    while let (id, type) = try reader.nextField(&last) {
      switch (id, type) {
      case (1, .i32): valueCount = try reader.count()
      case (2, .i32): encoding = try reader.i32()
      default: try reader.skip(type)
      }
    }
  }

  private mutating func decodeDataV2(_ reader: inout ThriftCompactReader) throws {
    try reader.enter()
    defer { reader.leave() }
    var last: Int16 = 0
    while let (id, type) = try reader.nextField(&last) {
      switch (id, type) {
      case (1, .i32): valueCount = try reader.count()
      case (4, .i32): encoding = try reader.i32()
      case (5, .i32): definitionBytes = try reader.count()
      case (6, .i32): repetitionBytes = try reader.count()
      case (7, .boolTrue), (7, .boolFalse): valuesCompressed = reader.bool(type)
      default: try reader.skip(type)
      }
    }
  }
}
