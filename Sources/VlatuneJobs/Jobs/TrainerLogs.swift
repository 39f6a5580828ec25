internal import CSpawn
import Foundation
import Glibc
import VlatuneSupport

/// The trainer's stdout and stderr: pipes the watcher reads and copies to `stdout.log`,
/// `stderr.log` and `output.log` (both streams interleaved in arrival order).
final class TrainerLogs {
  private var readEnds: [Int32]
  private(set) var stdoutWriteEnd: Int32
  private(set) var stderrWriteEnd: Int32
  private let files: [Int32]
  private let combined: Int32
  private let stderrPath: String

  init(directory: String) throws {
    var stdoutPipe: [Int32] = [0, 0]
    var stderrPipe: [Int32] = [0, 0]
    guard vlatune_pipe_cloexec(&stdoutPipe) == 0, vlatune_pipe_cloexec(&stderrPipe) == 0 else {
      throw VlatuneError.ioFailure(path: directory, message: "pipe: \(String(cString: strerror(errno)))")
    }
    for descriptor in [stdoutPipe[0], stderrPipe[0]] {
      _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
    }
    readEnds = [stdoutPipe[0], stderrPipe[0]]
    stdoutWriteEnd = stdoutPipe[1]
    stderrWriteEnd = stderrPipe[1]
    func openLog(_ name: String) throws -> Int32 {
      let descriptor = open(directory + "/" + name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
      guard descriptor >= 0 else {
        throw VlatuneError.ioFailure(path: directory + "/" + name, message: String(cString: strerror(errno)))
      }
      return descriptor
    }
    files = [try openLog("stdout.log"), try openLog("stderr.log")]
    combined = try openLog("output.log")
    stderrPath = directory + "/stderr.log"
  }

  deinit {
    for descriptor in readEnds + files + [combined] where descriptor >= 0 { close(descriptor) }
    closeWriteEnds()
  }

  /// Closes the parent's copies of the write ends (after the trainer has its own).
  func closeWriteEnds() {
    if stdoutWriteEnd >= 0 { close(stdoutWriteEnd) }
    if stderrWriteEnd >= 0 { close(stderrWriteEnd) }
    stdoutWriteEnd = -1
    stderrWriteEnd = -1
  }

  /// Waits up to `timeoutMilliseconds` for output and copies whatever is there.
  func pump(timeoutMilliseconds: Int32) {
    var descriptors = readEnds.filter { $0 >= 0 }.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    guard !descriptors.isEmpty else {
      usleep(UInt32(timeoutMilliseconds) * 1000)
      return
    }
    _ = poll(&descriptors, nfds_t(descriptors.count), timeoutMilliseconds)
    copyAvailable()
  }

  /// Copies what is left without waiting.
  func drain() { copyAvailable() }

  private func copyAvailable() {
    var buffer = [UInt8](repeating: 0, count: 65_536)
    for stream in 0..<2 where readEnds[stream] >= 0 {
      while true {
        let count = buffer.withUnsafeMutableBytes { read(readEnds[stream], $0.baseAddress, $0.count) }
        if count > 0 {
          buffer.withUnsafeBytes { bytes in
            _ = write(files[stream], bytes.baseAddress, count)
            _ = write(combined, bytes.baseAddress, count)
          }
          continue
        }
        if count == 0 {
          close(readEnds[stream])
          readEnds[stream] = -1
        }
        break
      }
    }
  }

  /// The last lines of stderr (at most 20 lines or 2000 characters), for error messages.
  func stderrTail() -> String {
    let bytes = (try? FileIO.read(stderrPath)) ?? []
    let text = String(decoding: bytes.suffix(8192), as: UTF8.self)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: true).suffix(20)
    return String(lines.joined(separator: "\n").suffix(2000))
  }
}
