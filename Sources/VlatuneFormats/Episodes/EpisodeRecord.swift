import VlatuneSupport

/// Everything pass 1 keeps about one episode: its metadata, its per-step numeric data and the
/// source paths of its images (the image bytes are read again in pass 2).
public struct EpisodeRecord: Sendable {
  /// The episode's name (its directory, relative to the dataset root).
  public var name: String
  /// The episode directory's path inside the source (empty for the source root).
  public var directory: String
  /// The language instruction.
  public var instruction: String
  /// Control frequency in Hz.
  public var fps: Double
  /// Camera keys, in order.
  public var cameras: [String]
  /// Number of steps.
  public var stepCount: Int
  /// Length of each action vector.
  public var actionDim: Int
  /// Length of each state vector (0 when absent).
  public var stateDim: Int
  /// `stepCount × actionDim` values.
  public var actions: [Double]
  /// `stepCount × stateDim` values.
  public var states: [Double]
  /// One timestamp per step, in seconds.
  public var timestamps: [Double]
  /// Source-relative image paths (or, for formats that locate images otherwise, a description
  /// of where each is, for messages), `stepCount × cameras.count`, step-major.
  public var imagePaths: ImagePaths
  /// SHA-256 of the raw `meta.json` and `steps.jsonl` bytes.
  public var metadataDigest: String
  /// SHA-256 of the numeric content (for duplicate detection).
  public var numericDigest: String
}

extension EpisodeRecord {
  /// The SHA-256 (hex) of an episode's numeric content: its actions' then its states' bytes, as
  /// every source computes ``numericDigest`` (duplicate detection compares it across formats).
  package static func numericDigest(actions: [Double], states: [Double]) -> String {
    let hasher = SHA256Hasher()
    actions.withUnsafeBytes { hasher.update($0) }
    states.withUnsafeBytes { hasher.update($0) }
    return hasher.hexDigest()
  }
}
