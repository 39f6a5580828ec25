import Foundation
import Logging
import MCP

/// Wraps a transport and counts requests received and responses sent, so that when the client
/// closes stdin the server can answer every request it already read before exiting (the SDK's
/// receive loop ends at EOF while handlers are still running, and would drop their replies).
actor DrainingTransport: Transport {
  nonisolated let logger: Logger
  private let inner: any Transport
  private var requests = 0
  private var responses = 0

  init(_ inner: any Transport) {
    self.inner = inner
    self.logger = Logger(label: "vlatune.mcp")
  }

  func connect() async throws { try await inner.connect() }

  func disconnect() async { await inner.disconnect() }

  func send(_ data: Data) async throws {
    try await inner.send(data)
    responses += Self.count(data, requests: false)
  }

  nonisolated func receive() -> AsyncThrowingStream<Data, any Error> {
    AsyncThrowingStream { continuation in
      let task = Task {
        do {
          for try await data in await inner.receive() {
            await self.received(data)
            continuation.yield(data)
          }
          continuation.finish()
        } catch {
          continuation.finish(throwing: error)
        }
      }
      continuation.onTermination = { _ in task.cancel() }
    }
  }

  private func received(_ data: Data) { requests += Self.count(data, requests: true) }

  /// Requests still waiting for their response.
  var outstanding: Int { max(requests - responses, 0) }

  /// Counts JSON-RPC requests (`id` and `method`, neither `result` nor `error`: the SDK takes a
  /// message with those for a response) or responses in a message or batch.
  static func count(_ data: Data, requests: Bool) -> Int {
    guard let value = try? JSONSerialization.jsonObject(with: data) else { return 0 }
    let messages = (value as? [[String: Any]]) ?? [(value as? [String: Any]) ?? [:]]
    return messages.filter { message in
      let isRequest = message["method"] != nil && message["result"] == nil && message["error"] == nil
      return message["id"] != nil && isRequest == requests
    }.count
  }
}
