import VlatuneSupport

/// One leaf column's values for a run of rows, decoded from Parquet pages.
///
/// Row `i` holds `rowStarts[i]..<rowStarts[i + 1]` of the value array of the column's type: one
/// value for a scalar, the entries for a list, none for a null row or an empty list.
package struct ParquetColumn {
  /// The column, for messages.
  var leaf: ParquetLeaf
  /// FLOAT and DOUBLE values.
  var numbers: [Double] = []
  /// INT32 and INT64 values.
  var integers: [Int64] = []
  var booleans: [Bool] = []
  /// BYTE_ARRAY values (strings, image bytes).
  var binaries: [[UInt8]] = []
  var rowStarts: [Int] = [0]
  /// Rows whose value (or list) is null.
  var nullRows = 0

  package var rowCount: Int { rowStarts.count - 1 }

  /// The values of row `row` as a range into the value array.
  package func range(ofRow row: Int) -> Range<Int> { rowStarts[row]..<rowStarts[row + 1] }

  /// Numeric values as doubles, whether stored as floats or integers.
  package var doubles: [Double] {
    switch leaf.type {
    case 1, 2: return integers.map(Double.init)
    case 0: return booleans.map { $0 ? 1 : 0 }
    default: return numbers
    }
  }

  /// Whether the column holds numbers (float, double, integer or boolean).
  var isNumeric: Bool { [0, 1, 2, 4, 5].contains(leaf.type) }

  /// Appends another run of rows of the same column (the next row group).
  mutating func append(_ other: ParquetColumn) {
    let offset = rowStarts.last ?? 0
    numbers += other.numbers
    integers += other.integers
    booleans += other.booleans
    binaries += other.binaries
    rowStarts += other.rowStarts.dropFirst().map { $0 + offset }
    nullRows += other.nullRows
  }
}
