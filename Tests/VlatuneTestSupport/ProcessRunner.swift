import Foundation
import Glibc
import VlatuneSupport

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
/// every wait. Children are started with the core's ``ProcessSpawner`` (fork and exec, every
/// descriptor above 2 closed), not Foundation's `Process`, whose `run()` over-reads
/// `/proc/self/fd` entries and crashed suites that spawn many processes (swift-corelibs-foundation
/// PR #5472).
public enum ProcessRunner {
  /// A started child whose output goes to files.
  public final class Running: @unchecked Sendable {
    // @unchecked: `status` is only touched by the test that started the child.
    /// The child's pid.
    public let pid: Int32
    let executable: String
    let outputURL: URL
    let errorURL: URL
    let directory: TemporaryDirectory
    private var status: Int32?

    init(pid: Int32, executable: String, outputURL: URL, errorURL: URL, directory: TemporaryDirectory) {
      self.pid = pid
      self.executable = executable
      self.outputURL = outputURL
      self.errorURL = errorURL
      self.directory = directory
    }

    /// Sends a signal to the child (none once it has been reaped: its pid may be reused).
    public func signal(_ number: Int32) {
      if status == nil { kill(pid, number) }
    }

    /// Waits for exit, at most `timeout` seconds, then kills it and reports a timeout.
    public func wait(timeout: TimeInterval = 120) throws -> ProcessResult {
      let deadline = Date().addingTimeInterval(timeout)
      while status == nil {
        if let exited = ProcessSpawner.reap(pid, block: false) {
          status = exited
          break
        }
        if Date() > deadline {
          // SIGKILL: a child that ignores SIGTERM must not hang the test in the reap.
          kill(pid, SIGKILL)
          status = ProcessSpawner.reap(pid)
          throw TimeoutError(what: "\(executable) to exit")
        }
        usleep(2_000)
      }
      return ProcessResult(
        status: status ?? 255,
        standardOutput: (try? String(contentsOf: outputURL, encoding: .utf8)) ?? "",
        standardError: (try? String(contentsOf: errorURL, encoding: .utf8)) ?? "")
    }
  }

  /// Starts `executable` (a path) with `arguments` and extra environment variables.
  public static func start(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:]
  ) throws -> Running {
    let directory = TemporaryDirectory("vlatune-proc")
    let outputURL = directory.appending("stdout")
    let errorURL = directory.appending("stderr")
    var merged = ProcessInfo.processInfo.environment
    for (key, value) in environment { merged[key] = value }
    let output = open(outputURL.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    let error = open(errorURL.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    defer {
      if output >= 0 { close(output) }
      if error >= 0 { close(error) }
    }
    guard output >= 0, error >= 0 else {
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: directory.url.path])
    }
    var options = ProcessSpawner.Options()
    options.standardOutput = output
    options.standardError = error
    let pid = try ProcessSpawner.spawn([executable] + arguments, environment: merged, options: options)
    return Running(pid: pid, executable: executable, outputURL: outputURL, errorURL: errorURL, directory: directory)
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
