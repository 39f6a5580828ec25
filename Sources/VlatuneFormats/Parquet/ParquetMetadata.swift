import VlatuneSupport

/// The parts of Parquet's `FileMetaData` (parquet.thrift) that reading columns needs.
struct ParquetMetadata {
  /// A node of the flattened schema tree (depth-first, as stored).
  struct SchemaElement {
    var name = ""
    /// Physical type (`Type` enum) for leaves; `nil` for groups.
    var type: Int32?
    var typeLength: Int32?
    /// 0 required, 1 optional, 2 repeated; `nil` for the root.
    var repetition: Int32?
    var childCount = 0
    var convertedType: Int32?
  }

  /// One column chunk of a row group.
  struct ColumnChunk {
    var type: Int32 = 0
    var encodings: [Int32] = []
    var path: [String] = []
    var codec: Int32 = 0
    var valueCount: Int64 = 0
    var compressedSize: Int64 = 0
    var dataPageOffset: Int64 = 0
    var dictionaryPageOffset: Int64?
    /// Set when the chunk lives in another file (not supported).
    var filePath: String?
  }

  struct RowGroup {
    var columns: [ColumnChunk] = []
    var rowCount: Int64 = 0
  }

  var schema: [SchemaElement] = []
  var rowCount: Int64 = 0
  var rowGroups: [RowGroup] = []
  /// Key/value metadata (`pandas`, `huggingface`, `ARROW:schema`).
  var keyValues: [String: String] = [:]
  var createdBy: String?

  /// Decodes `FileMetaData` from the footer bytes.
  static func decode(_ reader: inout ThriftCompactReader) throws -> ParquetMetadata {
    var metadata = ParquetMetadata()
    var last: Int16 = 0
    while let (id, type) = try reader.nextField(&last) {
      switch (id, type) {
      case (2, .list): metadata.schema = try reader.list { try schemaElement(&$0) }
      case (3, .i64): metadata.rowCount = try reader.i64()
      case (4, .list): metadata.rowGroups = try reader.list { try rowGroup(&$0) }
      case (5, .list):
        for (key, value) in try reader.list({ try keyValue(&$0) }) { metadata.keyValues[key] = value }
      case (6, .binary): metadata.createdBy = try reader.string()
      default: try reader.skip(type)
      }
    }
    return metadata
  }

  private static func schemaElement(_ reader: inout ThriftCompactReader) throws -> SchemaElement {
    try reader.enter()
    defer { reader.leave() }
    var element = SchemaElement()
    var last: Int16 = 0
    while let (id, type) = try reader.nextField(&last) {
      switch (id, type) {
      case (1, .i32): element.type = try reader.i32()
      case (2, .i32): element.typeLength = try reader.i32()
      case (3, .i32): element.repetition = try reader.i32()
      case (4, .binary): element.name = try reader.string()
      case (5, .i32): element.childCount = try reader.count()
      case (6, .i32): element.convertedType = try reader.i32()
      default: try reader.skip(type)
      }
    }
    return element
  }

  private static func rowGroup(_ reader: inout ThriftCompactReader) throws -> RowGroup {
    try reader.enter()
    defer { reader.leave() }
    var group = RowGroup()
    var last: Int16 = 0
    while let (id, type) = try reader.nextField(&last) {
      switch (id, type) {
      case (1, .list): group.columns = try reader.list { try columnChunk(&$0) }
      case (3, .i64): group.rowCount = try reader.i64()
      default: try reader.skip(type)
      }
    }
    return group
  }

  private static func columnChunk(_ reader: inout ThriftCompactReader) throws -> ColumnChunk {
    try reader.enter()
    defer { reader.leave() }
    var chunk = ColumnChunk()
    var last: Int16 = 0
    while let (id, type) = try reader.nextField(&last) {
      switch (id, type) {
      case (1, .binary): chunk.filePath = try reader.string()
      case (3, .structure): try columnMetadata(&reader, into: &chunk)
      default: try reader.skip(type)
      }
    }
    return chunk
  }

  private static func columnMetadata(_ reader: inout ThriftCompactReader, into chunk: inout ColumnChunk)
    throws
  {
    try reader.enter()
    defer { reader.leave() }
    var last: Int16 = 0
    while let (id, type) = try reader.nextField(&last) {
      switch (id, type) {
      case (1, .i32): chunk.type = try reader.i32()
      case (2, .list): chunk.encodings = try reader.list { try $0.i32() }
      case (3, .list): chunk.path = try reader.list { try $0.string() }
      case (4, .i32): chunk.codec = try reader.i32()
      case (5, .i64): chunk.valueCount = try reader.i64()
      case (7, .i64): chunk.compressedSize = try reader.i64()
      case (9, .i64): chunk.dataPageOffset = try reader.i64()
      case (11, .i64): chunk.dictionaryPageOffset = try reader.i64()
      default: try reader.skip(type)
      }
    }
  }

  private static func keyValue(_ reader: inout ThriftCompactReader) throws -> (String, String) {
    try reader.enter()
    defer { reader.leave() }
    var key = ""
    var value = ""
    var last: Int16 = 0
    while let (id, type) = try reader.nextField(&last) {
      switch (id, type) {
      case (1, .binary): key = try reader.string()
      case (2, .binary): value = try reader.string()
      default: try reader.skip(type)
      }
    }
    return (key, value)
  }
}
