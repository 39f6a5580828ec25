import Foundation

/// A directory under the system temporary directory, removed when the value is released.
public final class TemporaryDirectory: Sendable {
  /// Its URL.
  public let url: URL
  /// Its path.
  public var path: String { url.path }

  /// Creates a fresh, empty directory.
  public init(_ label: String = "vlatune-test") {
    url = FileManager.default.temporaryDirectory
      .appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(at: url) }

  /// A path inside the directory.
  public func appending(_ component: String) -> URL { url.appendingPathComponent(component) }
}
