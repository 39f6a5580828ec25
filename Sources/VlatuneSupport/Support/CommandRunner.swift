import Foundation

/// Runs a short-lived helper command to completion and captures its output: `nvidia-smi`,
/// Slurm's commands, the doctor's trainer probe. (The trainer and the watcher are started with
/// ``ProcessSpawner``, which controls descriptors, groups and signals.)
public enum CommandRunner {
  /// What a command did.
  public struct Result: Sendable {
    /// Exit status.
    public var status: Int32
    /// Standard output as UTF-8.
    public var output: String
    /// Standard error as UTF-8.
    public var error: String
  }

  /// Runs `command` — a path, or a name looked up on the `PATH` of `environment` — with
  /// `environment` (the current one when `nil`).
  ///
  /// - Throws: ``VlatuneError/resourceUnavailable(message:)`` when the command is not found or
  ///   cannot start.
  public static func run(_ command: String, _ arguments: [String], environment: [String: String]? = nil)
    throws -> Result
  {
    let variables = environment ?? ProcessInfo.processInfo.environment
    let path =
      command.contains("/")
      ? command
      : (variables["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        .map { "\($0)/\(command)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    guard let path, FileManager.default.isExecutableFile(atPath: path) else {
      throw VlatuneError.resourceUnavailable(message: "\(command) is not on PATH")
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.environment = variables
    let output = Pipe()
    let error = Pipe()
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = output
    process.standardError = error
    do {
      try process.run()
    } catch {
      throw VlatuneError.resourceUnavailable(message: "cannot run \(command): \(error)")
    }
    // Read stderr on another thread so neither pipe can fill up and stall the command.
    nonisolated(unsafe) var errorBytes = Data()
    let done = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
      errorBytes = error.fileHandleForReading.readDataToEndOfFile()
      done.signal()
    }
    let outputBytes = output.fileHandleForReading.readDataToEndOfFile()
    done.wait()
    process.waitUntilExit()
    return Result(
      status: process.terminationStatus, output: String(decoding: outputBytes, as: UTF8.self),
      error: String(decoding: errorBytes, as: UTF8.self))
  }
}
