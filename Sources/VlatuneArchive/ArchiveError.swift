internal import CArchive
import VlatuneSupport

/// A failure reported by libarchive, with libarchive's own message.
public struct ArchiveError: Error, Sendable, Equatable, CustomStringConvertible {
  /// What vlatune was doing (`open`, `read header`, `write data`).
  public var operation: String
  /// The archive's path.
  public var path: String
  /// libarchive's error string, or the errno text.
  public var message: String
  /// The errno libarchive recorded (0 when none).
  public var errno: Int32

  /// A readable one-line description.
  public var description: String { "\(operation) \(path): \(message)" }
}

/// Checks a libarchive return code in one place and turns failures into ``ArchiveError``.
///
/// `ARCHIVE_WARN` is accepted (libarchive uses it for recoverable conditions such as unknown
/// extended header keywords); `ARCHIVE_FAILED`, `ARCHIVE_FATAL` and `ARCHIVE_RETRY` throw.
@discardableResult
func checkArchive(
  _ code: Int32, _ handle: OpaquePointer, operation: String, path: String,
  overrideMessage: String? = nil
) throws -> Int32 {
  if code == ARCHIVE_OK || code == ARCHIVE_WARN || code == ARCHIVE_EOF { return code }
  let message = overrideMessage ?? archive_error_string(handle).map { String(cString: $0) }
  throw ArchiveError(
    operation: operation, path: path, message: message ?? "libarchive error \(code)",
    errno: archive_errno(handle))
}
