import Foundation
import Glibc
import Synchronization

/// Runs a short-lived helper command to completion and captures its output: `nvidia-smi`,
/// Slurm's commands, the doctor's trainer probe. (The trainer and the watcher are started with
/// ``ProcessSpawner``, which controls descriptors, groups and signals.)
public enum CommandRunner {
  /// What a command did.
  public struct Result: Sendable {
    /// Exit status (128 + the signal when a signal ended it).
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
    // ProcessSpawner, not Foundation's Process: swift-corelibs-foundation's `Process.run()`
    // over-reads `/proc/self/fd` entries and crashes intermittently on Linux (its PR #5472).
    let stdoutPipe = try ProcessSpawner.pipe()
    let stderrPipe: (read: Int32, write: Int32)
    do {
      stderrPipe = try ProcessSpawner.pipe()
    } catch {
      close(stdoutPipe.read)
      close(stdoutPipe.write)
      throw error
    }
    var options = ProcessSpawner.Options()
    options.standardOutput = stdoutPipe.write
    options.standardError = stderrPipe.write
    let pid: Int32
    do {
      pid = try ProcessSpawner.spawn([path] + arguments, environment: variables, options: options)
    } catch let failure {
      for descriptor in [stdoutPipe.read, stdoutPipe.write, stderrPipe.read, stderrPipe.write] { close(descriptor) }
      throw VlatuneError.resourceUnavailable(message: "cannot run \(command): \(failure)")
    }
    close(stdoutPipe.write)
    close(stderrPipe.write)
    // Read stderr on another thread so neither pipe can fill up and stall the command.
    let errorBytes = Mutex<[UInt8]>([])
    let done = DispatchSemaphore(value: 0)
    let errorEnd = stderrPipe.read
    DispatchQueue.global().async {
      let bytes = Self.readAll(errorEnd)
      errorBytes.withLock { $0 = bytes }
      done.signal()
    }
    let outputBytes = Self.readAll(stdoutPipe.read)
    done.wait()
    close(stdoutPipe.read)
    close(stderrPipe.read)
    let status = ProcessSpawner.reap(pid) ?? 255
    return Result(
      status: status, output: String(decoding: outputBytes, as: UTF8.self),
      error: String(decoding: errorBytes.withLock { $0 }, as: UTF8.self))
  }

  /// Everything readable from `descriptor` until end of file.
  private static func readAll(_ descriptor: Int32) -> [UInt8] {
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
      let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
      if count > 0 {
        bytes += buffer[0..<count]
      } else if count == 0 || errno != EINTR {
        return bytes
      }
    }
  }
}
