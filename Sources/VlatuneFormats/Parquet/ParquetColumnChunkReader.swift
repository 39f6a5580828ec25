import VlatuneSupport

/// Reads one column chunk: walks its pages, decompresses them, decodes levels and values
/// (PLAIN, dictionary, RLE booleans) and reassembles rows.
struct ParquetColumnChunkReader {
  /// The chunk's bytes (``byteRange(of:dataEnd:)`` of the file).
  let bytes: [UInt8]
  let chunk: ParquetMetadata.ColumnChunk
  let leaf: ParquetLeaf

  private var dictionary: ParquetColumn?
  private var repetitions: [Int32] = []
  private var definitions: [Int32] = []
  /// Level entries read so far (values plus nulls and empty lists).
  private var levelCount = 0
  private var column: ParquetColumn

  init(bytes: [UInt8], chunk: ParquetMetadata.ColumnChunk, leaf: ParquetLeaf) {
    self.bytes = bytes
    self.chunk = chunk
    self.leaf = leaf
    self.column = ParquetColumn(leaf: leaf)
  }

  /// Where a chunk's pages lie in the file (from its dictionary page, if any, through its last
  /// data page), checked against the data section that ends at `dataEnd` (the footer).
  static func byteRange(of chunk: ParquetMetadata.ColumnChunk, dataEnd: Int) throws -> Range<Int> {
    var start = chunk.dataPageOffset
    if let dictionaryOffset = chunk.dictionaryPageOffset, dictionaryOffset > 0,
      dictionaryOffset < chunk.dataPageOffset
    {
      start = dictionaryOffset
    }
    let (end, overflow) = start.addingReportingOverflow(chunk.compressedSize)
    guard start >= 4, chunk.compressedSize >= 0, !overflow, end <= Int64(dataEnd) else {
      throw ParquetError.malformed(
        "column chunk at bytes \(start)..<\(end) lies outside the file's data (\(dataEnd) bytes)")
    }
    return Int(start)..<Int(end)
  }

  /// Reads every page of the chunk; `rows` is the row group's row count.
  mutating func read(rows: Int) throws -> ParquetColumn {
    if let problem = leaf.unsupported { throw ParquetError.unsupported(problem) }
    guard chunk.filePath == nil || chunk.filePath == "" else {
      throw ParquetError.unsupported("its data lives in another file (\(chunk.filePath ?? ""))")
    }
    guard [0, 1, 2, 4, 5, 6].contains(chunk.type) else {
      throw ParquetError.unsupported(
        "physical type \(ParquetLeaf.typeName(chunk.type)) is not supported")
    }
    let end = bytes.count
    var position = 0
    var valuesSeen = 0
    while position < end && valuesSeen < Int(chunk.valueCount) {
      var reader = ThriftCompactReader(bytes, from: position, to: end)
      let header = try ParquetPageHeader.decode(&reader)
      let pageStart = reader.position
      let pageEnd = pageStart + header.compressedSize
      if header.type != ParquetPageHeader.dictionaryPage {
        try Self.checkValueCount(header.valueCount, remaining: Int(chunk.valueCount) - valuesSeen)
      }
      guard pageEnd <= end else {
        throw ParquetError.malformed("a page runs past the end of its column chunk")
      }
      switch header.type {
      case ParquetPageHeader.dictionaryPage:
        let page = try PageDecompressor.decompress(
          bytes, range: pageStart..<pageEnd, codec: chunk.codec, size: header.uncompressedSize)
        var values = ParquetColumn(leaf: leaf)
        try Self.decodePlain(page, from: 0, count: header.valueCount, type: chunk.type, into: &values)
        dictionary = values
      case ParquetPageHeader.dataPage:
        let page = try PageDecompressor.decompress(
          bytes, range: pageStart..<pageEnd, codec: chunk.codec, size: header.uncompressedSize)
        try readDataPageV1(page, header: header)
        valuesSeen += header.valueCount
      case ParquetPageHeader.dataPageV2:
        try readDataPageV2(pageStart..<pageEnd, header: header)
        valuesSeen += header.valueCount
      default:
        break
      }
      position = pageEnd
    }
    guard valuesSeen == Int(chunk.valueCount) else {
      throw ParquetError.malformed(
        "column chunk holds \(valuesSeen) values, its metadata says \(chunk.valueCount)")
    }
    try assemble()
    guard column.rowCount == rows else {
      throw ParquetError.malformed("column has \(column.rowCount) rows, its row group \(rows)")
    }
    return column
  }

  private mutating func readDataPageV1(_ page: [UInt8], header: ParquetPageHeader) throws {
    var offset = 0
    func levels(maximum: Int) throws -> [Int32] {
      guard maximum > 0 else { return [] }
      guard page.count - offset >= 4 else { throw ParquetError.malformed("level section ends early") }
      let length =
        Int(page[offset]) | Int(page[offset + 1]) << 8 | Int(page[offset + 2]) << 16
        | Int(page[offset + 3]) << 24
      offset += 4
      guard length <= page.count - offset else {
        throw ParquetError.malformed("level section of \(length) bytes runs past its page")
      }
      var decoder = try RLEHybridDecoder(
        page, start: offset, end: offset + length, bitWidth: RLEHybridDecoder.bitWidth(for: maximum))
      offset += length
      return try decoder.decode(count: header.valueCount)
    }
    let repetition = try levels(maximum: leaf.maxRepetition)
    let definition = try levels(maximum: leaf.maxDefinition)
    try addValues(page, from: offset, header: header, repetition: repetition, definition: definition)
  }

  private mutating func readDataPageV2(_ range: Range<Int>, header: ParquetPageHeader) throws {
    let levelBytes = header.repetitionBytes + header.definitionBytes
    guard levelBytes <= range.count else {
      throw ParquetError.malformed("level sections are longer than their page")
    }
    func levels(_ start: Int, _ length: Int, maximum: Int) throws -> [Int32] {
      guard maximum > 0 else { return [] }
      var decoder = try RLEHybridDecoder(
        bytes, start: start, end: start + length, bitWidth: RLEHybridDecoder.bitWidth(for: maximum))
      return try decoder.decode(count: header.valueCount)
    }
    let repetition = try levels(range.lowerBound, header.repetitionBytes, maximum: leaf.maxRepetition)
    let definition = try levels(
      range.lowerBound + header.repetitionBytes, header.definitionBytes, maximum: leaf.maxDefinition)
    let valuesRange = (range.lowerBound + levelBytes)..<range.upperBound
    let values =
      header.valuesCompressed
      ? try PageDecompressor.decompress(
        bytes, range: valuesRange, codec: chunk.codec, size: header.uncompressedSize - levelBytes)
      : Array(bytes[valuesRange])
    try addValues(values, from: 0, header: header, repetition: repetition, definition: definition)
  }

  /// The most values one page may declare: run-length encoding lets a few bytes stand for any
  /// number of values, so without a bound a tiny hostile page could ask for gigabytes.
  static let maximumPageValues = 1 << 26

  /// Refuses a data page declaring more values than its chunk has left or than
  /// ``maximumPageValues``.
  static func checkValueCount(_ count: Int, remaining: Int) throws {
    guard count <= remaining else {
      throw ParquetError.malformed("a data page declares \(count) values but its column chunk has \(remaining) left")
    }
    guard count <= maximumPageValues else {
      throw ParquetError.malformed(
        "a data page declares \(count) values, more than the \(maximumPageValues) vlatune reads from one page; "
          + "rewrite the file with smaller pages (pyarrow: data_page_size)")
    }
  }

  private mutating func addValues(
    _ page: [UInt8], from offset: Int, header: ParquetPageHeader, repetition: [Int32],
    definition: [Int32]
  ) throws {
    let present =
      leaf.maxDefinition == 0
      ? header.valueCount : definition.reduce(0) { $0 + ($1 == leaf.maxDefinition ? 1 : 0) }
    switch header.encoding {
    case 0:
      try Self.decodePlain(page, from: offset, count: present, type: chunk.type, into: &column)
    case 2, 8:
      guard let dictionary else {
        throw ParquetError.malformed("dictionary-encoded page without a dictionary page")
      }
      guard offset < page.count || present == 0 else {
        throw ParquetError.malformed("dictionary indices missing")
      }
      guard present > 0 else { break }
      var decoder = try RLEHybridDecoder(
        page, start: offset + 1, end: page.count, bitWidth: Int(page[offset]))
      let indices = try decoder.decode(count: present)
      try Self.lookUp(indices, in: dictionary, type: chunk.type, into: &column)
    case 3 where chunk.type == 0:
      guard page.count - offset >= 4 || present == 0 else {
        throw ParquetError.malformed("RLE boolean page ends early")
      }
      guard present > 0 else { break }
      var decoder = try RLEHybridDecoder(page, start: offset + 4, end: page.count, bitWidth: 1)
      column.booleans += try decoder.decode(count: present).map { $0 != 0 }
    default:
      throw ParquetError.unsupported(
        "encoding \(Self.encodingName(header.encoding)) is not supported (PLAIN, dictionary "
          + "and RLE are); rewrite the file with pyarrow's defaults")
    }
    repetitions += repetition
    definitions += definition
    levelCount += header.valueCount
  }

  /// Turns the levels into row boundaries.
  private mutating func assemble() throws {
    var valueIndex = 0
    var starts: [Int] = [0]
    starts.reserveCapacity(levelCount + 1)
    for index in 0..<levelCount {
      let repetition = leaf.maxRepetition > 0 ? Int(repetitions[index]) : 0
      let definition = leaf.maxDefinition > 0 ? Int(definitions[index]) : 0
      if repetition == 0 && index > 0 { starts.append(valueIndex) }
      if definition == leaf.maxDefinition {
        valueIndex += 1
      } else if let listPresent = leaf.listPresentDefinition {
        if definition > listPresent {
          throw ParquetError.unsupported("a list holds a null element; lists must be complete")
        }
        if definition < listPresent { column.nullRows += 1 }
      } else {
        column.nullRows += 1
      }
    }
    if levelCount > 0 { starts.append(valueIndex) }
    column.rowStarts = starts
  }

  static func encodingName(_ encoding: Int32) -> String {
    switch encoding {
    case 0: return "PLAIN"
    case 2: return "PLAIN_DICTIONARY"
    case 3: return "RLE"
    case 4: return "BIT_PACKED"
    case 5: return "DELTA_BINARY_PACKED"
    case 6: return "DELTA_LENGTH_BYTE_ARRAY"
    case 7: return "DELTA_BYTE_ARRAY"
    case 8: return "RLE_DICTIONARY"
    case 9: return "BYTE_STREAM_SPLIT"
    default: return "encoding \(encoding)"
    }
  }

  /// Decodes `count` PLAIN values of a physical type.
  static func decodePlain(
    _ page: [UInt8], from offset: Int, count: Int, type: Int32, into column: inout ParquetColumn
  ) throws {
    let available = page.count - offset
    func need(_ bytes: Int) throws {
      guard bytes <= available else {
        throw ParquetError.malformed("page holds \(available) value bytes, \(bytes) needed")
      }
    }
    switch type {
    case 0:
      try need((count + 7) / 8)
      for index in 0..<count {
        column.booleans.append(page[offset + index / 8] >> UInt8(index % 8) & 1 == 1)
      }
    case 1:
      try need(count * 4)
      page.withUnsafeBytes { raw in
        for index in 0..<count {
          column.integers.append(
            Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + index * 4, as: Int32.self))))
        }
      }
    case 2:
      try need(count * 8)
      page.withUnsafeBytes { raw in
        for index in 0..<count {
          column.integers.append(
            Int64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + index * 8, as: Int64.self)))
        }
      }
    case 4:
      try need(count * 4)
      page.withUnsafeBytes { raw in
        for index in 0..<count {
          let bits = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + index * 4, as: UInt32.self))
          column.numbers.append(Double(Float(bitPattern: bits)))
        }
      }
    case 5:
      try need(count * 8)
      page.withUnsafeBytes { raw in
        for index in 0..<count {
          let bits = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset + index * 8, as: UInt64.self))
          column.numbers.append(Double(bitPattern: bits))
        }
      }
    case 6:
      var position = offset
      for _ in 0..<count {
        guard page.count - position >= 4 else { throw ParquetError.malformed("byte array ends early") }
        let length =
          Int(page[position]) | Int(page[position + 1]) << 8 | Int(page[position + 2]) << 16
          | Int(page[position + 3]) << 24
        position += 4
        guard length <= page.count - position else {
          throw ParquetError.malformed("byte array of \(length) bytes runs past its page")
        }
        column.binaries.append(Array(page[position..<(position + length)]))
        position += length
      }
    default:
      throw ParquetError.unsupported("physical type \(ParquetLeaf.typeName(type)) is not supported")
    }
  }

  private static func lookUp(
    _ indices: [Int32], in dictionary: ParquetColumn, type: Int32, into column: inout ParquetColumn
  ) throws {
    let size: Int
    switch type {
    case 0: size = dictionary.booleans.count
    case 1, 2: size = dictionary.integers.count
    case 4, 5: size = dictionary.numbers.count
    default: size = dictionary.binaries.count
    }
    for index in indices where index < 0 || Int(index) >= size {
      throw ParquetError.malformed("dictionary index \(index) is outside its \(size) entries")
    }
    switch type {
    case 0: column.booleans += indices.map { dictionary.booleans[Int($0)] }
    case 1, 2: column.integers += indices.map { dictionary.integers[Int($0)] }
    case 4, 5: column.numbers += indices.map { dictionary.numbers[Int($0)] }
    default: column.binaries += indices.map { dictionary.binaries[Int($0)] }
    }
  }
}
