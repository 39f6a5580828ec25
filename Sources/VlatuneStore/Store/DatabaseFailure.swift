import Foundation
import GRDB
import VlatuneSupport

/// What a failed SQLite call means to the user: a lock held by another process (69), a full
/// disk (74), a damaged or foreign database (65 `state_damaged`), or, for anything else, an
/// internal error (70).
enum DatabaseFailure {
  /// The ``VlatuneError`` for `error` during `operation` on the database at `path`.
  static func map(_ error: DatabaseError, path: String, operation: String) -> VlatuneError {
    switch error.resultCode {
    case .SQLITE_BUSY, .SQLITE_LOCKED:
      return .databaseBusy(path: path, holders: LockHolders.describe(database: path))
    case .SQLITE_FULL:
      return .ioFailure(
        path: path,
        message: DiskSpace.shortfall(
          at: (path as NSString).deletingLastPathComponent,
          need: "the database's write-ahead log needs up to \(ByteSize.format(4 << 20)) more",
          undone: "nothing was changed"))
    case .SQLITE_CORRUPT:
      return .stateDamaged(
        path: path, detail: "SQLite found a malformed page during a \(operation): \(error.message ?? "")")
    case .SQLITE_NOTADB:
      return .stateDamaged(path: path, detail: "the file is not an SQLite database")
    case .SQLITE_IOERR:
      let message = error.message ?? "\(error)"
      return .ioFailure(
        path: path,
        message: DiskSpace.isFull(message)
          ? DiskSpace.shortfall(
            at: (path as NSString).deletingLastPathComponent, need: nil, undone: "nothing was changed")
          : "the database \(operation) failed: \(message)")
    default:
      return .internalError(message: "database \(operation) failed: \(error)")
    }
  }
}
