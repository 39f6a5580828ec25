import Foundation
import VlatuneSupport

/// A Parquet file read into memory: its footer, schema and the columns asked for.
///
/// Reads the subset LeRobot datasets use (CONTRACT: `dataset prepare --format lerobot`): flat
/// columns, structs of scalars and one-level lists of BOOLEAN, INT32, INT64, FLOAT, DOUBLE and
/// BYTE_ARRAY; PLAIN, dictionary and RLE encodings; data pages v1 and v2; uncompressed, Snappy,
/// Gzip and Zstd pages. Anything else is a ``ParquetError/unsupported(_:)`` naming the column.
package struct ParquetFile {
  /// Where the file's bytes are: in memory, or on disk and read chunk by chunk with `pread`
  /// (only the footer and the column chunks asked for are ever in memory).
  private enum Storage {
    case memory([UInt8])
    case disk(path: String)
  }

  private let storage: Storage
  let metadata: ParquetMetadata
  package let leaves: [ParquetLeaf]
  /// Where the footer starts.
  private let dataEnd: Int

  /// The largest footer accepted (hostile lengths must not allocate).
  static let maximumFooterBytes = 64 << 20

  /// Parses a file held in memory.
  package init(bytes: [UInt8]) throws {
    let (metadata, dataEnd) = try Self.footer(size: bytes.count) { range in Array(bytes[range]) }
    self.storage = .memory(bytes)
    self.metadata = metadata
    self.leaves = try ParquetLeaf.leaves(of: metadata.schema)
    self.dataEnd = dataEnd
  }

  /// Opens a file on disk and parses its footer.
  init(path: String) throws {
    let size = FileIO.size(path)
    let (metadata, dataEnd) = try Self.footer(size: Int(size)) { range in
      try Self.read(path, range)
    }
    self.storage = .disk(path: path)
    self.metadata = metadata
    self.leaves = try ParquetLeaf.leaves(of: metadata.schema)
    self.dataEnd = dataEnd
  }

  /// Checks the magic numbers and decodes the footer; `read` fetches a byte range.
  private static func footer(size: Int, read: (Range<Int>) throws -> [UInt8]) throws
    -> (ParquetMetadata, Int)
  {
    let magic: [UInt8] = Array("PAR1".utf8)
    guard size >= 12, try read(0..<4) == magic else {
      throw ParquetError.malformed("not a Parquet file (no PAR1 header)")
    }
    let tail = try read((size - 8)..<size)
    guard Array(tail[4...]) == magic else {
      throw ParquetError.malformed("the file is truncated or not Parquet (no PAR1 trailer)")
    }
    let footerLength =
      Int(tail[0]) | Int(tail[1]) << 8 | Int(tail[2]) << 16 | Int(tail[3]) << 24
    guard footerLength > 0, footerLength <= Self.maximumFooterBytes, footerLength <= size - 12
    else {
      throw ParquetError.malformed("footer length \(footerLength) does not fit the file")
    }
    let footerStart = size - 8 - footerLength
    var reader = ThriftCompactReader(try read(footerStart..<(size - 8)))
    return (try ParquetMetadata.decode(&reader), footerStart)
  }

  /// Reads `range` of a file with `pread`.
  private static func read(_ path: String, _ range: Range<Int>) throws -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
      throw ParquetError.malformed("cannot open the file: \(String(cString: strerror(errno)))")
    }
    defer { close(descriptor) }
    var bytes = [UInt8](repeating: 0, count: range.count)
    var done = 0
    while done < range.count {
      let count = bytes.withUnsafeMutableBytes { buffer in
        pread(descriptor, buffer.baseAddress! + done, range.count - done, off_t(range.lowerBound + done))
      }
      if count < 0 && errno == EINTR { continue }
      guard count > 0 else { throw ParquetError.malformed("the file ends early (or cannot be read)") }
      done += count
    }
    return bytes
  }

  /// Top-level field names, in schema order.
  var fieldNames: [String] {
    var names: [String] = []
    for leaf in leaves where !names.contains(leaf.path[0]) { names.append(leaf.path[0]) }
    return names
  }

  /// The leaf under a top-level field: the field itself, its list element, or the struct member
  /// `member`.
  func leaf(_ field: String, member: String? = nil) -> ParquetLeaf? {
    let candidates = leaves.filter { $0.path.first == field }
    if let member { return candidates.first { $0.path.last == member && $0.path.count == 2 } }
    return candidates.count == 1 ? candidates[0] : nil
  }

  /// The row groups with the first row each holds, in file order.
  var rowGroupStarts: [(group: ParquetMetadata.RowGroup, firstRow: Int)] {
    var first = 0
    return metadata.rowGroups.map { group in
      defer { first += Int(group.rowCount) }
      return (group, first)
    }
  }

  /// Reads the rows `rows` of a leaf column, decoding only the row groups that hold them;
  /// returns the column and the file row of its first row.
  func column(_ leaf: ParquetLeaf, covering rows: Range<Int>) throws -> (ParquetColumn, Int) {
    var result = ParquetColumn(leaf: leaf)
    var firstRow: Int?
    for (group, start) in rowGroupStarts {
      let end = start + Int(group.rowCount)
      guard end > rows.lowerBound, start < rows.upperBound else { continue }
      if firstRow == nil { firstRow = start }
      result.append(try column(leaf, in: group))
    }
    return (result, firstRow ?? rows.lowerBound)
  }

  /// Reads every row of a leaf column (all row groups).
  package func column(_ leaf: ParquetLeaf) throws -> ParquetColumn {
    var result = ParquetColumn(leaf: leaf)
    for group in metadata.rowGroups {
      result.append(try column(leaf, in: group))
    }
    return result
  }

  /// Reads one row group of a leaf column.
  func column(_ leaf: ParquetLeaf, in group: ParquetMetadata.RowGroup) throws -> ParquetColumn {
    guard let chunk = group.columns.first(where: { $0.path == leaf.path }) else {
      throw ParquetError.malformed("row group has no chunk for column '\(leaf.name)'")
    }
    do {
      let range = try ParquetColumnChunkReader.byteRange(of: chunk, dataEnd: dataEnd)
      let bytes: [UInt8]
      switch storage {
      case .memory(let all): bytes = Array(all[range])
      case .disk(let path): bytes = try Self.read(path, range)
      }
      var reader = ParquetColumnChunkReader(bytes: bytes, chunk: chunk, leaf: leaf)
      return try reader.read(rows: Int(group.rowCount))
    } catch let error as ParquetError {
      switch error {
      case .malformed(let message): throw ParquetError.malformed("column '\(leaf.name)': \(message)")
      case .unsupported(let message):
        throw ParquetError.unsupported("column '\(leaf.name)': \(message)")
      }
    }
  }
}
