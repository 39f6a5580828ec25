import Foundation
import VlatuneSupport

/// A Parquet file of a LeRobot dataset, with typed column access and messages that name the
/// file and column.
struct LeRobotTable {
  let path: String
  let file: ParquetFile

  /// Opens `path` (relative to `root`).
  init(root: String, path: String) throws {
    self.path = path
    do {
      file = try ParquetFile(path: root + "/" + path)
    } catch let error as ParquetError {
      throw SourceFileError.file(path, "cannot be read: \(error)")
    }
  }

  func has(_ field: String) -> Bool { file.leaves.contains { $0.path.first == field } }

  /// Reads a whole column.
  func column(_ field: String, member: String? = nil) throws -> ParquetColumn {
    guard let leaf = file.leaf(field, member: member) else {
      if has(field) {
        throw SourceFileError.file(path, "column '\(field)' has a nested type vlatune does not read")
      }
      throw SourceFileError.file(
        path, "has no column '\(field)' (columns: \(file.fieldNames.joined(separator: ", ")))")
    }
    return try read(leaf)
  }

  /// Reads a leaf, converting format errors.
  func read(_ leaf: ParquetLeaf, in group: ParquetMetadata.RowGroup? = nil) throws -> ParquetColumn {
    do {
      if let group { return try file.column(leaf, in: group) }
      return try file.column(leaf)
    } catch let error as ParquetError {
      throw SourceFileError.file(path, "cannot be read: \(error)")
    }
  }

  /// Reads the row groups of a leaf that hold `rows`; returns the column and its first file row.
  func read(_ leaf: ParquetLeaf, covering rows: Range<Int>) throws -> (ParquetColumn, Int) {
    do {
      return try file.column(leaf, covering: rows)
    } catch let error as ParquetError {
      throw SourceFileError.file(path, "cannot be read: \(error)")
    }
  }

  /// One integer per row (no nulls).
  func integers(_ field: String) throws -> [Int] {
    guard let values = try optionalIntegers(field) else {
      throw SourceFileError.file(path, "has no column '\(field)'")
    }
    return values
  }

  func optionalIntegers(_ field: String) throws -> [Int]? {
    guard has(field) else { return nil }
    let column = try column(field)
    guard [1, 2].contains(column.leaf.type), column.nullRows == 0,
      column.integers.count == column.rowCount
    else {
      throw SourceFileError.file(path, "column '\(field)' must hold one integer per row")
    }
    return column.integers.map { Int($0) }
  }

  /// One number per row (no nulls).
  func doubles(_ field: String) throws -> [Double] {
    let column = try column(field)
    guard column.isNumeric, column.nullRows == 0, column.rowStarts.last == column.rowCount else {
      throw SourceFileError.file(path, "column '\(field)' must hold one number per row")
    }
    return column.doubles
  }

  /// One string per row.
  func strings(_ field: String) throws -> [String] {
    let column = try column(field)
    guard column.leaf.type == 6, column.nullRows == 0, column.binaries.count == column.rowCount
    else {
      throw SourceFileError.file(path, "column '\(field)' must hold one string per row")
    }
    return column.binaries.map { String(decoding: $0, as: UTF8.self) }
  }

  /// A list of strings per row, when the column exists.
  func optionalStringLists(_ field: String) throws -> [[String]]? {
    guard has(field) else { return nil }
    let column = try column(field)
    guard column.leaf.type == 6 else {
      throw SourceFileError.file(path, "column '\(field)' must hold lists of strings")
    }
    return (0..<column.rowCount).map { row in
      column.range(ofRow: row).map { String(decoding: column.binaries[$0], as: UTF8.self) }
    }
  }
}
