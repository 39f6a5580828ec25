import VlatuneFormats
import VlatuneSupport

/// The dataset JSON document (CONTRACT §4): printed by `--json`, written as `manifest.json`,
/// and stored in the catalog.
///
/// Keys are snake_case (explicit coding keys: a key strategy would also rewrite dataset names
/// used as dictionary keys).
public struct DatasetDocument: Codable, Sendable, Equatable {
  /// Where the data came from.
  public struct Source: Codable, Sendable, Equatable {
    /// The SOURCE path as given (made absolute).
    public var path: String
    /// The format that was read (`episodes`).
    public var format: String
    /// `sha256:` over the source content (episode metadata, steps and image bytes), independent of
    /// whether it was read from a directory or an archive.
    public var fingerprint: String
    /// Which source keys fill the action and which state ranges (absent for `episodes`).
    public var keys: SourceKeys? = nil
  }

  /// A camera, its frame size and encoding.
  public struct Camera: Codable, Sendable, Equatable {
    /// The camera's key (`front`).
    public var key: String
    /// Frame height in pixels.
    public var height: Int
    /// Frame width in pixels.
    public var width: Int
    /// `jpeg` or `png`.
    public var encoding: String
  }

  /// One tar shard of the package.
  public struct Shard: Codable, Sendable, Equatable {
    /// Path relative to the package directory (`shards/train-000000.tar`).
    public var path: String
    /// `train` or `val`.
    public var split: String
    /// SHA-256 of the file (hex).
    public var sha256: String
    /// File size.
    public var bytes: Int64
    /// Number of samples (steps) in the shard.
    public var samples: Int
  }

  /// The options the package was prepared with, so it can be reproduced.
  public struct PrepareSettings: Codable, Sendable, Equatable {
    /// Fraction of episodes held out for validation.
    public var valFraction: Double
    /// Seed of the split.
    public var seed: UInt64
    /// Target shard size in bytes.
    public var shardSizeBytes: Int64
    /// The action dimension excluded from normalization as the gripper, if any.
    public var gripperDim: Int?

    enum CodingKeys: String, CodingKey {
      case seed
      case valFraction = "val_fraction"
      case shardSizeBytes = "shard_size_bytes"
      case gripperDim = "gripper_dim"
    }
  }

  /// Episode or step counts per split.
  public struct SplitCounts: Codable, Sendable, Equatable {
    /// Training split.
    public var train: Int
    /// Validation split.
    public var val: Int
  }

  /// Always 1 for this layout.
  public var schemaVersion = 1
  /// `ds_…`.
  public var id: String
  /// Unique name; also the `unnorm_key` in `dataset_statistics.json`.
  public var name: String
  /// RFC 3339 time the package was registered.
  public var createdAt: String
  /// The package directory.
  public var path: String
  /// Where the data came from.
  public var source: Source
  /// `sha256:` over the source fingerprint, the settings and every shard's checksum.
  public var fingerprint: String
  /// Number of episodes.
  public var episodes: Int
  /// Number of steps (transitions).
  public var steps: Int
  /// Episodes per split.
  public var splits: SplitCounts
  /// Steps per split.
  public var splitSteps: SplitCounts
  /// Cameras in the order the package stores them.
  public var cameras: [Camera]
  /// Length of each action vector.
  public var actionDim: Int
  /// Length of each state vector (0 when the source has none).
  public var stateDim: Int
  /// Control frequency in Hz.
  public var fps: Double
  /// Distinct instructions, in first-seen order.
  public var instructions: [String]
  /// Normalization statistics (the value under the dataset's name in `dataset_statistics.json`).
  public var stats: DatasetStatistics
  /// The shards with their checksums.
  public var shards: [Shard]
  /// Warnings found during validation.
  public var warnings: [Diagnostic]
  /// The options used.
  public var prepare: PrepareSettings

  enum CodingKeys: String, CodingKey {
    case id, name, path, source, fingerprint, episodes, steps, splits, cameras, fps
    case instructions, stats, shards, warnings, prepare
    case schemaVersion = "schema_version"
    case createdAt = "created_at"
    case splitSteps = "split_steps"
    case actionDim = "action_dim"
    case stateDim = "state_dim"
  }
}
