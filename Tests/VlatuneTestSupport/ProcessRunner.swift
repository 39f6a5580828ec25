import Foundation

/// The outcome of a finished child process.
public struct ProcessResult: Sendable {
  /// Exit status, or 128 + signal when killed by a signal.
  public var status: Int32
  /// Everything it wrote to stdout.
  public var standardOutput: String
  /// Everything it wrote to stderr.
  public var standardError: String

  /// Decodes stdout as a JSON object.
  public func json() throws -> [String: Any] {
    let value = try JSONSerialization.jsonObject(with: Data(standardOutput.utf8))
    guard let object = value as? [String: Any] else {
      throw CocoaError(.coderReadCorrupt)
    }
    return object
  }
}

/// Runs child processes for tests: output captured in files (no pipe deadlocks), a deadline on
/// every wait.
public enum ProcessRunner {
  /// A started child whose output goes to files.
  public final class Running: @unchecked Sendable {
    // @unchecked: Process is not Sendable; a Running is only used by the test that started it.
    public let process: Process
    let outputURL: URL
    let errorURL: URL
    let directory: TemporaryDirectory

    init(process: Process, outputURL: URL, errorURL: URL, directory: TemporaryDirectory) {
      self.process = process
      self.outputURL = outputURL
      self.errorURL = errorURL
      self.directory = directory
    }

    /// The child's pid.
    public var pid: Int32 { process.processIdentifier }

    /// Sends a signal to the child.
    public func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits for exit, at most `timeout` seconds, then kills it and reports a timeout.
    public func wait(timeout: TimeInterval = 120) throws -> ProcessResult {
      let deadline = Date().addingTimeInterval(timeout)
      while process.isRunning {
        if Date() > deadline {
          process.terminate()
          throw TimeoutError(what: "\(process.executableURL?.path ?? "process") to exit")
        }
        usleep(2_000)
      }
      let status =
        process.terminationReason == .uncaughtSignal
        ? 128 + process.terminationStatus : process.terminationStatus
      return ProcessResult(
        status: status,
        standardOutput: (try? String(contentsOf: outputURL, encoding: .utf8)) ?? "",
        standardError: (try? String(contentsOf: errorURL, encoding: .utf8)) ?? "")
    }
  }

  /// Serializes `Process.run()` across test threads.
  static let spawnLock = NSLock()

  /// Starts `executable` with `arguments` and extra environment variables.
  public static func start(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:],
    currentDirectory: URL? = nil
  ) throws -> Running {
    let directory = TemporaryDirectory("vlatune-proc")
    let outputURL = directory.appending("stdout")
    let errorURL = directory.appending("stderr")
    _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var merged = ProcessInfo.processInfo.environment
    for (key, value) in environment { merged[key] = value }
    process.environment = merged
    if let currentDirectory { process.currentDirectoryURL = currentDirectory }
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = try FileHandle(forWritingTo: outputURL)
    process.standardError = try FileHandle(forWritingTo: errorURL)
    // swift-corelibs-foundation's Process.run() is not safe to call from several threads at
    // once (a CI run crashed in its memcpy while suites spawned processes in parallel); only
    // the spawn itself is serialized, the processes still run concurrently.
    try spawnLock.withLock { try process.run() }
    return Running(process: process, outputURL: outputURL, errorURL: errorURL, directory: directory)
  }

  /// Runs to completion.
  public static func run(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:],
    timeout: TimeInterval = 300
  ) throws -> ProcessResult {
    try start(executable, arguments, environment: environment).wait(timeout: timeout)
  }
}

/// A condition was not met before its deadline.
public struct TimeoutError: Error, CustomStringConvertible {
  /// What was awaited.
  public var what: String
  /// A timeout while waiting for `what`.
  public init(what: String) { self.what = what }
  /// A readable message.
  public var description: String { "timed out waiting for \(what)" }
}

/// Polls `condition` until it holds or `timeout` seconds pass.
public func waitUntil(
  _ what: String, timeout: TimeInterval = 60, _ condition: () throws -> Bool
) throws {
  let deadline = Date().addingTimeInterval(timeout)
  while try !condition() {
    if Date() > deadline { throw TimeoutError(what: what) }
    usleep(5_000)
  }
}
