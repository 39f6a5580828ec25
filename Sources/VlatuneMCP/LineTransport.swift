import Foundation
import Glibc
import Logging
import MCP
import VlatuneCore

/// MCP's stdio transport, in place of the SDK's: newline-delimited messages read in linear time
/// with a size limit, and written whole, one at a time.
///
/// The SDK's `StdioTransport` (0.12.1) rescans its whole buffer from the start after every 4 KiB
/// read, so a message of n bytes costs O(n²) (1 MB 2.8 s, 2 MB 10.5 s, a 50 MB one hours of CPU
/// with nothing answered), and its non-blocking writer sleeps between partial writes, letting a
/// second reply start in the middle of the first when the client reads slowly. Here one thread
/// reads stdin and scans each byte once; a line longer than ``maximumMessageBytes`` is dropped as
/// it streams in (never held whole) and answered with a JSON-RPC error naming the limit; replies
/// go out in order from one serial queue with blocking writes.
actor LineTransport: Transport {
  nonisolated let logger = Logger(label: "vlatune.mcp.stdio")
  /// The largest message accepted.
  static let maximumMessageBytes = 4 << 20

  private let input: Int32
  private let output: Int32
  private let limit: Int
  private let writer = DispatchQueue(label: "vlatune.mcp.stdout")
  private var stream: AsyncThrowingStream<Data, any Error>?
  private var continuation: AsyncThrowingStream<Data, any Error>.Continuation?

  /// - Parameters:
  ///   - input: The descriptor messages are read from (stdin).
  ///   - output: The descriptor replies are written to (stdout).
  ///   - limit: The largest message accepted, in bytes.
  init(input: Int32 = STDIN_FILENO, output: Int32 = STDOUT_FILENO, limit: Int = LineTransport.maximumMessageBytes) {
    self.input = input
    self.output = output
    self.limit = limit
  }

  func connect() async throws {
    guard stream == nil else { return }
    let (stream, continuation) = AsyncThrowingStream<Data, any Error>.makeStream()
    self.stream = stream
    self.continuation = continuation
    let reader = LineReader(descriptor: input, limit: limit)
    let thread = Thread { [weak self] in
      reader.run(
        message: { continuation.yield($0) },
        oversized: { size in
          Task { await self?.refuseOversized(size) }
        })
      continuation.finish()
    }
    thread.name = "vlatune.mcp.stdin"
    thread.start()
  }

  func disconnect() async { continuation?.finish() }

  /// Writes one message and its newline, whole, after every earlier one.
  func send(_ data: Data) async throws {
    let descriptor = output
    let bytes = [UInt8](data) + [0x0A]
    try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
      writer.async {
        done.resume(with: Result { try Self.writeAll(bytes, to: descriptor) })
      }
    }
  }

  nonisolated func receive() -> AsyncThrowingStream<Data, any Error> {
    AsyncThrowingStream { continuation in
      let task = Task {
        guard let stream = await self.stream else {
          continuation.finish()
          return
        }
        do {
          for try await message in stream { continuation.yield(message) }
          continuation.finish()
        } catch {
          continuation.finish(throwing: error)
        }
      }
      continuation.onTermination = { _ in task.cancel() }
    }
  }

  /// Answers a message that was too large (its id is unknown: it was never read whole).
  private func refuseOversized(_ size: Int) async {
    logger.warning("dropped a message of at least \(size) bytes (limit \(limit))")
    let reply = EnvelopeGuard.error(
      id: .null, code: -32600,
      "Invalid Request: message of \(size) bytes or more exceeds the limit of \(limit / (1 << 20)) MiB "
        + "(\(limit) bytes); send large data as a file path, not inline")
    try? await send(reply)
  }

  static func writeAll(_ bytes: [UInt8], to descriptor: Int32) throws {
    var offset = 0
    while offset < bytes.count {
      let written = bytes.withUnsafeBytes { buffer in
        Glibc.write(descriptor, buffer.baseAddress! + offset, bytes.count - offset)
      }
      if written < 0 {
        if errno == EINTR { continue }
        if errno == EAGAIN {
          // A descriptor someone left non-blocking: wait until it takes more.
          var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
          _ = poll(&poller, 1, 1000)
          continue
        }
        throw MCPError.transportError(POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO))
      }
      offset += written
    }
  }
}

/// Splits a byte stream into newline-terminated messages, looking at each byte once.
final class LineReader: Sendable {
  let descriptor: Int32
  let limit: Int

  init(descriptor: Int32, limit: Int) {
    self.descriptor = descriptor
    self.limit = limit
  }

  /// Reads until end of input, calling `message` with each non-empty line and `oversized` with
  /// the size reached by each line over the limit (dropped).
  func run(message: (Data) -> Void, oversized: (Int) -> Void) {
    var chunk = [UInt8](repeating: 0, count: 64 << 10)
    var line: [UInt8] = []
    var dropped = 0  // > 0 while the current line is over the limit and being discarded
    while true {
      let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
      if count < 0 {
        if errno == EINTR { continue }
        if errno == EAGAIN {
          var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
          _ = poll(&poller, 1, 1000)
          continue
        }
        return
      }
      if count == 0 { break }
      var start = 0
      while start < count {
        guard let newline = chunk[start..<count].firstIndex(of: 0x0A) else {
          append(chunk[start..<count], to: &line, dropped: &dropped)
          break
        }
        append(chunk[start..<newline], to: &line, dropped: &dropped)
        if dropped > 0 {
          oversized(dropped)
        } else {
          emit(&line, message)
        }
        line.removeAll(keepingCapacity: line.capacity <= limit)
        dropped = 0
        start = newline + 1
      }
    }
    if dropped > 0 { oversized(dropped) } else { emit(&line, message) }
  }

  private func append(_ bytes: ArraySlice<UInt8>, to line: inout [UInt8], dropped: inout Int) {
    if dropped > 0 {
      dropped += bytes.count
    } else if line.count + bytes.count > limit {
      dropped = line.count + bytes.count
      line = []
    } else {
      line.append(contentsOf: bytes)
    }
  }

  private func emit(_ line: inout [UInt8], _ message: (Data) -> Void) {
    // A trailing carriage return (CRLF clients) and blank lines are not messages.
    if line.last == 0x0D { line.removeLast() }
    if !line.isEmpty { message(Data(line)) }
  }
}
