import GRDB
import VlatuneSupport

/// One row of the `datasets` table: a registered, complete dataset package.
public struct DatasetRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
  /// The table name.
  public static let databaseTableName = "datasets"

  /// `ds_…`.
  public var id: String
  /// The unique name (the `unnorm_key` of its statistics).
  public var name: String
  /// RFC 3339 creation time.
  public var createdAt: String
  /// The SOURCE given to `dataset prepare`.
  public var sourcePath: String
  /// The source format that was read.
  public var sourceFormat: String
  /// The package fingerprint.
  public var fingerprint: String
  /// Number of episodes.
  public var episodes: Int
  /// Number of steps.
  public var steps: Int
  /// The package directory.
  public var directory: String
  /// The dataset JSON document (CONTRACT §4), as written to `manifest.json`.
  public var document: String

  enum CodingKeys: String, CodingKey {
    case id, name, episodes, steps, directory, document, fingerprint
    case createdAt = "created_at"
    case sourcePath = "source_path"
    case sourceFormat = "source_format"
  }
}
