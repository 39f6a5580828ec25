import Foundation
import VlatuneSupport

/// The state directory (`$VLATUNE_HOME`) and the paths inside it (CONTRACT §5).
public struct VlatuneHome: Sendable, Equatable {
  /// The root directory.
  public let root: URL

  /// Uses an explicit root directory.
  public init(root: URL) { self.root = root.standardizedFileURL }

  /// Resolves the root from the environment: `VLATUNE_HOME`, else `$XDG_DATA_HOME/vlatune`,
  /// else `~/.local/share/vlatune`.
  ///
  /// - Parameter environment: The process environment (injected for tests).
  public static func resolve(environment: [String: String]) -> VlatuneHome {
    if let explicit = environment["VLATUNE_HOME"], !explicit.isEmpty {
      return VlatuneHome(root: URL(fileURLWithPath: explicit))
    }
    if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty {
      return VlatuneHome(root: URL(fileURLWithPath: xdg).appendingPathComponent("vlatune"))
    }
    let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
    return VlatuneHome(
      root: URL(fileURLWithPath: home).appendingPathComponent(".local/share/vlatune"))
  }

  /// The SQLite database.
  public var databaseURL: URL { root.appendingPathComponent("vlatune.db") }
  /// Prepared dataset packages, one directory per dataset id.
  public var datasetsURL: URL { root.appendingPathComponent("datasets") }
  /// Job directories, one per job id.
  public var jobsURL: URL { root.appendingPathComponent("jobs") }
  /// Work in progress (temporary package directories); swept of dead owners' leftovers.
  public var temporaryURL: URL { root.appendingPathComponent("tmp") }

  /// Creates the root (mode 0700) and its subdirectories when they are missing.
  ///
  /// - Throws: ``VlatuneError/ioFailure(path:message:)`` when a directory cannot be created.
  public func prepare() throws {
    let manager = FileManager.default
    do {
      if !manager.fileExists(atPath: root.path) {
        try manager.createDirectory(
          at: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
      }
      for directory in [datasetsURL, jobsURL, temporaryURL] {
        try manager.createDirectory(
          at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]
        )
      }
    } catch {
      throw VlatuneError.ioFailure(
        path: root.path,
        message: "cannot create the state directory (\(error.localizedDescription)); "
          + "set VLATUNE_HOME to a writable directory")
    }
  }

  /// Refuses (77) a state directory, one of its directories or its database that another user
  /// could change (``SafePath``).
  public func checkOwnership() throws {
    try SafePath.check(root.path, what: "state directory")
    for directory in [jobsURL, datasetsURL, temporaryURL] {
      try SafePath.check(directory.path, what: "state directory")
    }
    try SafePath.check(databaseURL.path, what: "database")
  }
}
