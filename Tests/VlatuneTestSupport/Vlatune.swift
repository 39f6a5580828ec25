import Foundation

/// Runs the built `vlatune` binary with `VLATUNE_HOME` pointing at a test's state directory.
public struct VlatuneRunner: Sendable {
  /// The state directory.
  public let home: URL
  /// Extra environment variables.
  public var environment: [String: String] = [:]

  /// A runner for a state directory.
  public init(home: URL) { self.home = home }

  /// The environment the binary runs with.
  public var fullEnvironment: [String: String] {
    var values = environment
    values["VLATUNE_HOME"] = home.path
    return values
  }

  /// Runs `vlatune ARGUMENTS…` to completion.
  public func run(_ arguments: [String], timeout: TimeInterval = 300) throws -> ProcessResult {
    try ProcessRunner.run(
      TestPaths.binary.path, arguments, environment: fullEnvironment, timeout: timeout)
  }

  /// Starts `vlatune ARGUMENTS…` without waiting.
  public func start(_ arguments: [String]) throws -> ProcessRunner.Running {
    try ProcessRunner.start(TestPaths.binary.path, arguments, environment: fullEnvironment)
  }
}
