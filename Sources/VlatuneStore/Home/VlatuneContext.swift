import Foundation
import Glibc
import VlatuneSupport

/// What every command needs: the state directory, the database and the process environment.
public struct VlatuneContext: Sendable {
  /// The state directory.
  public let home: VlatuneHome
  /// The database in it.
  public let store: Store
  /// The environment the command runs with.
  public let environment: [String: String]

  /// Resolves `$VLATUNE_HOME`, creates it (0700) when missing, refuses it when another user
  /// could change it (``SafePath``), and opens the database. When standard error is a terminal,
  /// a command kept waiting more than 1 s for another process's database lock says so there.
  ///
  /// - Throws: ``VlatuneError/ioFailure(path:message:)``, ``VlatuneError/policyDenied(message:)``
  ///   (77, an unsafe state directory), ``VlatuneError/stateDamaged(path:detail:)`` (65) or
  ///   ``VlatuneError/databaseBusy(path:holders:)`` (69).
  public static func open(environment: [String: String]) throws -> VlatuneContext {
    let home = VlatuneHome.resolve(environment: environment)
    try home.prepare()
    try home.checkOwnership()
    let announce: (@Sendable (String) -> Void)? =
      isatty(STDERR_FILENO) == 1
      ? { @Sendable message in FileHandle.standardError.write(Data(("vlatune: " + message + "\n").utf8)) } : nil
    let store = try Store(path: home.databaseURL.path, announceWait: announce)
    return VlatuneContext(home: home, store: store, environment: environment)
  }
}
