import VlatuneSupport

/// Why a Parquet file could not be read.
enum ParquetError: Error, Equatable, CustomStringConvertible {
  /// The bytes do not follow the format (truncated, corrupt, or not Parquet at all).
  case malformed(String)
  /// Valid Parquet that uses a feature outside the subset vlatune reads.
  case unsupported(String)

  var description: String {
    switch self {
    case .malformed(let message): return message
    case .unsupported(let message): return message
    }
  }
}
