internal import CArchive

/// Versions of the C libraries vlatune links.
public enum LibraryVersions {
  /// libarchive's version string.
  public static var libarchive: String { String(cString: archive_version_details()) }
}
