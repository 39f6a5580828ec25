import Foundation
import GRDB
import VlatuneStore
import VlatuneSupport

/// The registered datasets: list, show, verify and remove, with references resolved by exact
/// id, exact name, or a unique id or name prefix.
public struct DatasetCatalog: Sendable {
  let home: VlatuneHome
  let store: Store
  let users: any DatasetUsers

  /// - Parameters:
  ///   - home: The state directory.
  ///   - store: The catalog database.
  ///   - users: Who may be reading a package (the jobs), asked before one is removed.
  public init(home: VlatuneHome, store: Store, users: any DatasetUsers) {
    self.home = home
    self.store = store
    self.users = users
  }

  /// Every dataset, newest first; a catalog entry that cannot be read is listed apart as
  /// damaged instead of failing the whole list.
  public func listing() throws -> DatasetListDocument {
    let records = try store.read { database in
      try DatasetRecord.fetchAll(database, sql: "SELECT * FROM datasets ORDER BY created_at DESC, id")
    }
    var listing = DatasetListDocument(datasets: [])
    for record in records {
      do {
        listing.datasets.append(try Self.document(record))
      } catch let error as VlatuneError {
        listing.damaged.append(
          DatasetListDocument.Damaged(
            id: record.id, name: record.name,
            problem: error.message + "; remove it with 'vlatune dataset rm "
              + "\(record.id)' and prepare it again"))
      }
    }
    return listing
  }

  /// Every readable dataset, newest first.
  public func list() throws -> [DatasetDocument] { try listing().datasets }

  /// The dataset a reference names.
  ///
  /// - Throws: ``VlatuneError/notFound(kind:reference:hint:)`` (66) or
  ///   ``VlatuneError/ambiguous(kind:reference:candidates:)`` (64).
  public func resolve(_ reference: String) throws -> DatasetRecord {
    try store.read { database in
      // Plain SQL: the query interface's `fetchOne(key:)` reads the table's schema first.
      if let exact = try DatasetRecord.fetchOne(
        database, sql: "SELECT * FROM datasets WHERE id = ?", arguments: [reference])
      {
        return exact
      }
      if let named = try DatasetRecord.fetchOne(
        database, sql: "SELECT * FROM datasets WHERE name = ? LIMIT 1", arguments: [reference])
      {
        return named
      }
      let pattern = Self.likePrefix(reference)
      let matches = try DatasetRecord.fetchAll(
        database,
        sql: "SELECT * FROM datasets WHERE id LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\' "
          + "ORDER BY id LIMIT 11", arguments: [pattern, pattern])
      if matches.count == 1 { return matches[0] }
      if matches.isEmpty {
        throw VlatuneError.notFound(
          kind: "dataset", reference: reference,
          hint: "run 'vlatune dataset list' to see the registered datasets")
      }
      throw VlatuneError.ambiguous(
        kind: "dataset", reference: reference,
        candidates: matches.prefix(10).map { "\($0.id) (\($0.name))" })
    }
  }

  /// The document of the dataset a reference names.
  public func show(_ reference: String) throws -> DatasetDocument {
    try Self.document(resolve(reference))
  }

  /// Re-hashes every shard and the metadata files of a dataset.
  ///
  /// - Returns: The report; ``VerifyReport/ok`` is `false` on any mismatch or missing file.
  public func verify(_ reference: String) throws -> VerifyReport {
    let record = try resolve(reference)
    let document = try Self.document(record)
    var results: [VerifyReport.ShardResult] = []
    for shard in document.shards {
      let path = record.directory + "/" + shard.path
      let actual = Self.hashFile(path)
      results.append(
        VerifyReport.ShardResult(
          path: shard.path, expectedSha256: shard.sha256, actualSha256: actual,
          ok: actual == shard.sha256))
    }
    let required = ["manifest.json", "dataset_statistics.json", "episodes.jsonl"]
    let missing = required.filter { FileIO.kind(record.directory + "/" + $0) != .regular }
    return VerifyReport(
      id: record.id, name: record.name, ok: results.allSatisfy(\.ok) && missing.isEmpty,
      shards: results, missingFiles: missing)
  }

  /// Unregisters a dataset and deletes its package (a damaged catalog entry too).
  ///
  /// - Returns: The removed dataset's record and, when its entry was readable, its document.
  public func remove(_ reference: String) throws -> (record: DatasetRecord, document: DatasetDocument?) {
    let record = try resolve(reference)
    let document = try? Self.document(record)
    try store.write { database in
      try Self.ensureUnused(database, record, users: users, action: "remove it")
      _ = try record.delete(database)
    }
    FileIO.removeTree(record.directory)
    return (record, document)
  }

  /// Removes package directories no catalog row names: left by a `dataset prepare` killed after
  /// it moved its package into place but before its transaction committed (the move happens
  /// inside it), or by a `dataset rm` killed after its commit. The removal is decided inside a
  /// write transaction: a registration in another process holds the write lock from before its
  /// move until its commit, so it is never mistaken for debris.
  func sweepUnregistered() {
    let parent = home.datasetsURL.path
    func unregistered(_ database: Database) throws -> [String] {
      let names = ((try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []).filter { $0.hasPrefix("ds_") }
      guard !names.isEmpty else { return [] }
      let known = Set(try String.fetchAll(database, sql: "SELECT id FROM datasets"))
      return names.filter { !known.contains($0) }
    }
    guard let seen = try? store.read(unregistered), !seen.isEmpty else { return }
    _ = try? store.write { database in
      for name in try unregistered(database) { FileIO.removeTree(parent + "/" + name) }
    }
  }

  /// Refuses (73) while a job that is not finished trains on the dataset: its package must stay.
  /// Whether the catalog holds dataset `id` with package `fingerprint` (inside the caller's
  /// transaction: a start checks that its dataset was not removed meanwhile).
  package static func contains(_ database: Database, id: String, fingerprint: String) throws -> Bool {
    try Bool.fetchOne(
      database, sql: "SELECT 1 FROM datasets WHERE id = ? AND fingerprint = ?", arguments: [id, fingerprint]) ?? false
  }

  static func ensureUnused(
    _ database: Database, _ record: DatasetRecord, users: any DatasetUsers, action: String
  ) throws {
    let jobs = try users.unfinished(database, dataset: record.id)
    if !jobs.isEmpty {
      throw VlatuneError.outputExists(
        message: "dataset \(record.id) (\(record.name)) is used by unfinished job(s) "
          + "\(jobs.joined(separator: ", ")); wait for them or cancel them before you \(action)")
    }
  }

  package static func document(_ record: DatasetRecord) throws -> DatasetDocument {
    do {
      return try JSONOutput.decode(DatasetDocument.self, from: Data(record.document.utf8))
    } catch {
      throw VlatuneError.internalError(
        message: "the catalog entry of \(record.id) is unreadable (\(error))")
    }
  }

  static func likePrefix(_ text: String) -> String {
    var escaped = ""
    for character in text {
      if character == "%" || character == "_" || character == "\\" { escaped.append("\\") }
      escaped.append(character)
    }
    return escaped + "%"
  }

  static func hashFile(_ path: String) -> String? {
    guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
    defer { try? handle.close() }
    let hasher = SHA256Hasher()
    while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty {
      chunk.withUnsafeBytes { hasher.update($0) }
    }
    return hasher.hexDigest()
  }
}

/// The result of `dataset verify`.
public struct VerifyReport: Codable, Sendable, Equatable {
  /// One shard's check.
  public struct ShardResult: Codable, Sendable, Equatable {
    /// Path relative to the package.
    public var path: String
    /// The checksum in the manifest.
    public var expectedSha256: String
    /// The checksum of the file now (`nil` when it cannot be read).
    public var actualSha256: String?
    /// Whether they match.
    public var ok: Bool

    enum CodingKeys: String, CodingKey {
      case path, ok
      case expectedSha256 = "expected_sha256"
      case actualSha256 = "actual_sha256"
    }
  }

  /// Always 1.
  public var schemaVersion = 1
  /// The dataset id.
  public var id: String
  /// The dataset name.
  public var name: String
  /// `true` when every shard matches and no metadata file is missing.
  public var ok: Bool
  /// Per-shard results.
  public var shards: [ShardResult]
  /// Required metadata files that are missing.
  public var missingFiles: [String]

  enum CodingKeys: String, CodingKey {
    case id, name, ok, shards
    case schemaVersion = "schema_version"
    case missingFiles = "missing_files"
  }
}
