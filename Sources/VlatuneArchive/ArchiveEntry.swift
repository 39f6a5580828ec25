import VlatuneSupport

/// The header of one entry read from an archive, with the path already checked for safety.
public struct ArchiveEntry: Sendable, Equatable {
  /// What kind of file system object the entry describes.
  public enum Kind: Sendable, Equatable {
    /// A regular file with data.
    case regular
    /// A directory.
    case directory
    /// A symbolic link (refused by vlatune's readers).
    case symlink
    /// A hard link (refused by vlatune's readers).
    case hardlink
    /// A device, FIFO or socket (refused by vlatune's readers).
    case special
  }

  /// The entry's path as stored, with a leading `./` removed (bytes that are not UTF-8 written
  /// as `\xNN`).
  public var path: String
  /// The kind of object.
  public var kind: Kind
  /// The declared data size in bytes (0 when unknown).
  public var size: Int64
  /// Whether the stored name is valid UTF-8 (two names differing only in invalid bytes would
  /// otherwise read as one).
  public var nameIsUTF8 = true
}
