import Foundation
import GRDB
import GRDBSQLite
import VlatuneSupport

/// The SQLite database behind the catalog and the job table: WAL mode with a WAL file that
/// persists between commands, a 10 s busy timeout (``LockWait``), named forward-only
/// migrations, and `BEGIN IMMEDIATE` for every write.
///
/// `DatabaseQueue` serializes access within the process; SQLite's locks (with the busy timeout)
/// serialize it across processes.
public final class Store: Sendable {
  private let queue: DatabaseQueue
  private let path: String

  /// Opens (creating if needed) the database file and applies pending migrations.
  ///
  /// - Parameters:
  ///   - path: The database file.
  ///   - busyTimeout: How long a command waits for another process's write lock.
  ///   - announceWait: Told, once, what a command waits for when a lock is held longer than 1 s
  ///     (the CLI passes it only when standard error is a terminal).
  /// - Throws: ``VlatuneError/stateDamaged(path:detail:)`` (65) when the file is damaged or is
  ///   not a vlatune database, ``VlatuneError/ioFailure(path:message:)`` (74) on a full disk,
  ///   ``VlatuneError/databaseBusy(path:holders:)`` (69) when the lock stays held.
  public init(
    path: String, busyTimeout: TimeInterval = 10, announceWait: (@Sendable (String) -> Void)? = nil
  ) throws {
    self.path = path
    var configuration = Configuration()
    configuration.busyMode = .callback(
      LockWait(path: path, timeout: busyTimeout, announce: announceWait).callback)
    configuration.label = "vlatune"
    // WAL is set here rather than with `configuration.journalMode = .wal`: GRDB's WAL set-up
    // creates and drops a table whenever the -wal file is empty (for DatabasePool readers,
    // which vlatune does not use), so every command, `job status` included, committed a schema
    // change and paid two fsyncs at open and a checkpoint at exit.
    configuration.prepareDatabase { database in
      guard let connection = database.sqliteConnection else {
        throw DatabaseError(message: "no SQLite connection for \(path)")
      }
      try Self.setUp(connection, path: path)
    }
    do {
      queue = try DatabaseQueue(path: path, configuration: configuration)
      // A read answers "anything to do?" for every command after the first; only a database
      // that needs migrating takes the write lock migrate() asks for.
      let current = try queue.read { try Migrations.migrator.hasCompletedMigrations($0) }
      if !current {
        if let foreign = try queue.read(Self.foreignTables) {
          throw VlatuneError.stateDamaged(
            path: path,
            detail: "it is not a vlatune database: it holds the tables \(foreign) and no vlatune migrations")
        }
        try Migrations.migrator.migrate(queue)
      }
    } catch let error as VlatuneError {
      throw error
    } catch let error as DatabaseError {
      throw DatabaseFailure.map(error, path: path, operation: "open")
    } catch {
      throw VlatuneError.internalError(message: "cannot open the database at \(path): \(error)")
    }
  }

  /// The tables of a database that has no vlatune migration record but other tables (another
  /// program's database), or `nil`.
  private static func foreignTables(_ database: Database) throws -> String? {
    let tables = try String.fetchAll(
      database, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    guard !tables.isEmpty, !tables.contains("grdb_migrations") else { return nil }
    return tables.prefix(5).joined(separator: ", ") + (tables.count > 5 ? " …" : "")
  }

  /// WAL mode, `synchronous = NORMAL` and a persistent WAL for a new connection, in plain SQLite
  /// calls (through GRDB's generic fetch and execute, the first-use Swift metadata they need
  /// cost every command; docs/performance.md).
  ///
  /// The -wal and -shm files outlive the last connection: when the last one to close deleted
  /// them, every command created both files again and unlinked them at exit (its cost in
  /// docs/performance.md). The close still checkpoints, and `journal_size_limit` makes it truncate the
  /// -wal to 0 bytes. A VFS without persistent WAL deletes them as before.

  private static func setUp(_ connection: SQLiteConnection, path: String) throws {
    guard let mode = setWALMode(connection) else {
      throw DatabaseError(
        resultCode: ResultCode(rawValue: sqlite3_extended_errcode(connection)),
        message: "could not set WAL mode at \(path): " + String(cString: sqlite3_errmsg(connection)))
    }
    guard mode == "wal" else {
      throw DatabaseError(message: "could not set WAL mode at \(path) (journal_mode is \(mode))")
    }
    let code = sqlite3_exec(
      connection, "PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = 4194304",
      nil, nil, nil)
    guard code == SQLITE_OK else {
      throw DatabaseError(
        resultCode: ResultCode(rawValue: code),
        message: "could not configure \(path): " + String(cString: sqlite3_errmsg(connection)))
    }
    var persist: Int32 = 1
    _ = sqlite3_file_control(connection, nil, SQLITE_FCNTL_PERSIST_WAL, &persist)
  }

  /// The journal mode `PRAGMA journal_mode = WAL` answers (`wal` when it took), or nil when the
  /// statement failed.
  private static func setWALMode(_ connection: SQLiteConnection) -> String? {
    var statement: SQLiteStatement?
    defer { sqlite3_finalize(statement) }
    guard sqlite3_prepare_v2(connection, "PRAGMA journal_mode = WAL", -1, &statement, nil) == SQLITE_OK,
      sqlite3_step(statement) == SQLITE_ROW, let text = sqlite3_column_text(statement, 0)
    else { return nil }
    return String(cString: text)
  }

  /// Opens a private in-memory database with all migrations applied (for tests).
  public static func inMemory() throws -> Store { try Store(memory: ()) }

  private init(memory: Void) throws {
    path = ":memory:"
    queue = try DatabaseQueue()
    try Migrations.migrator.migrate(queue)
  }

  /// Runs `body` in one `BEGIN IMMEDIATE` transaction, committed when `body` returns.
  ///
  /// - Throws: What `body` throws (after rolling back), or a wrapped database error.
  public func write<T>(_ body: (Database) throws -> T) throws -> T {
    var result: T?
    do {
      try queue.inTransaction(.immediate) { database in
        result = try body(database)
        return .commit
      }
    } catch let error as VlatuneError {
      throw error
    } catch let error as DatabaseError {
      throw wrapped(error, "write")
    }
    guard let result else { throw VlatuneError.internalError(message: "transaction had no result") }
    return result
  }

  /// Runs `body` in a read transaction.
  public func read<T>(_ body: (Database) throws -> T) throws -> T {
    do {
      return try queue.read(body)
    } catch let error as VlatuneError {
      throw error
    } catch let error as DatabaseError {
      throw wrapped(error, "read")
    }
  }

  /// A lock held past the busy timeout is ``VlatuneError/databaseBusy(path:holders:)`` (the
  /// watcher waits that out); a full disk, a damaged page and the rest as ``DatabaseFailure``
  /// maps them.
  private func wrapped(_ error: DatabaseError, _ operation: String) -> VlatuneError {
    DatabaseFailure.map(error, path: path, operation: operation)
  }

  /// What SQLite's `PRAGMA quick_check` finds wrong (empty when the file is sound).
  public func integrityProblems() throws -> [String] {
    let rows = try read { try String.fetchAll($0, sql: "PRAGMA quick_check") }
    return rows == ["ok"] ? [] : rows
  }

  /// Why the database cannot be written, or `nil` when it can (an empty write transaction).
  public func writeProblem() -> String? {
    do {
      try write { _ in }
      return nil
    } catch let error as VlatuneError {
      return error.message
    } catch {
      return "\(error)"
    }
  }

  /// The names of the migrations applied, in order.
  public func appliedMigrations() throws -> [String] {
    try queue.read { try Migrations.migrator.appliedMigrations($0) }
  }

  /// The `synchronous` setting in force (1, NORMAL: WAL commits survive a crash of the process;
  /// the checkpoint fsyncs).
  public func synchronousLevel() throws -> Int {
    try queue.read { try Int.fetchOne($0, sql: "PRAGMA synchronous") ?? -1 }
  }

  /// The journal mode in force (`wal` for file databases).
  public func journalMode() throws -> String {
    try queue.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") ?? "" }
  }
}
