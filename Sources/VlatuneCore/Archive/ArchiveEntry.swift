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

  /// The entry's path as stored, with a leading `./` removed.
  public var path: String
  /// The kind of object.
  public var kind: Kind
  /// The declared data size in bytes (0 when unknown).
  public var size: Int64
}
