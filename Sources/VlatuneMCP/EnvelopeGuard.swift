import Foundation
import Logging
import MCP
import VlatuneCore

/// Reads every message before the SDK does and answers, itself, those a proxy in front and
/// vlatune behind could read differently, or that the SDK would answer wrongly:
///
/// - not JSON → -32700 with `id: null` (the SDK invents a random id);
/// - a key twice in one object, also in another letter case (`name`/`NAME`) → -32600;
/// - a batch (a JSON array) before `initialize` is answered, or once the negotiated protocol is
///   2025-06-18 or later (that revision removed batches) → -32600;
/// - an `id` that is not a string or an integer → -32600 with `id: null` (the SDK dropped
///   such requests without a reply);
/// - a request other than `initialize` and `ping` before `initialize` was sent → -32600; one
///   sent behind `initialize` waits until `initialize` is answered, so that no call runs before
///   the client has a name (the SDK runs each request in a task of its own, and a call could
///   otherwise run as `mcp:unknown`, with rate windows of its own);
/// - `tools/call` whose `params`, `name` or `arguments` has the wrong JSON type → -32602
///   naming the field, the type expected and the value got (the SDK answered -32603 "Internal
///   error"), audited as a refused call.
actor EnvelopeGuard: Transport {
  nonisolated let logger: Logger
  private let inner: any Transport
  private let audit: @Sendable (_ tool: String, _ arguments: [String: JSONValue], _ error: VlatuneError) -> Void
  private var initializeID: JSONValue?
  private var negotiated: String?
  private var waitingForInitialize: [CheckedContinuation<Void, Never>] = []

  /// The first protocol revision without JSON-RPC batches.
  static let batchlessRevision = "2025-06-18"

  /// - Parameters:
  ///   - inner: The transport that reads and writes the bytes.
  ///   - audit: Records a `tools/call` refused here (tool name, arguments, the refusal).
  init(
    _ inner: any Transport,
    audit: @escaping @Sendable (_ tool: String, _ arguments: [String: JSONValue], _ error: VlatuneError) -> Void
  ) {
    self.inner = inner
    self.audit = audit
    self.logger = Logger(label: "vlatune.mcp")
  }

  func connect() async throws { try await inner.connect() }

  func disconnect() async { await inner.disconnect() }

  func send(_ data: Data) async throws {
    let answersInitialize = observeInitializeResponse(data)
    try await inner.send(data)
    // Messages held behind `initialize` go on only once its reply is written.
    if answersInitialize { releaseHandshake() }
  }

  nonisolated func receive() -> AsyncThrowingStream<Data, any Error> {
    AsyncThrowingStream { continuation in
      let task = Task {
        do {
          for try await data in await inner.receive() {
            await self.settleHandshake()
            if let refusal = await self.check(data) {
              try? await self.send(refusal)
            } else {
              continuation.yield(data)
            }
          }
          continuation.finish()
        } catch {
          continuation.finish(throwing: error)
        }
      }
      continuation.onTermination = { _ in task.cancel() }
    }
  }

  /// Whether `initialize` has been answered.
  var initialized: Bool { negotiated != nil }

  /// How long messages behind `initialize` wait for its reply before they are let through (and
  /// refused as before initialize).
  static let handshakeTimeout = Duration.seconds(30)

  /// Returns once no `initialize` is waiting for its answer (or the wait timed out).
  private func settleHandshake() async {
    guard let pending = initializeID, negotiated == nil else { return }
    let timeout = Task { [weak self] in
      try await Task.sleep(for: Self.handshakeTimeout)
      await self?.abandonHandshake(pending)
    }
    await withCheckedContinuation { waitingForInitialize.append($0) }
    timeout.cancel()
  }

  /// Gives up on an `initialize` that got no reply.
  private func abandonHandshake(_ id: JSONValue) {
    guard initializeID == id, negotiated == nil else { return }
    logger.warning("initialize got no reply in \(Self.handshakeTimeout); letting the messages behind it through")
    initializeID = nil
    releaseHandshake()
  }

  private func releaseHandshake() {
    let waiting = waitingForInitialize
    waitingForInitialize = []
    for continuation in waiting { continuation.resume() }
  }

  /// The reply to a message refused here, or `nil` to pass it on.
  func check(_ data: Data) -> Data? {
    let bytes = [UInt8](data)
    let message: JSONValue
    do {
      message = try JSONParser.parse(bytes, refusingDuplicateKeys: true)
    } catch let error as JSONParser.SyntaxError {
      if let loose = try? JSONParser.parse(bytes), error.message.hasPrefix("duplicate key") {
        auditToolCall(loose, .invalidArgument(param: "request", message: "\(error)"))
        return Self.error(id: .null, code: -32600, "Invalid Request: \(error)")
      }
      return Self.error(id: .null, code: -32700, "Parse error: \(error)")
    } catch {
      return Self.error(id: .null, code: -32700, "Parse error: \(error)")
    }
    // vlatune's parser reads Python's NaN and Infinity (recorders write them); JSON-RPC is JSON,
    // and the SDK would answer them with a random id.
    if Self.holdsNonFiniteNumber(message) {
      return Self.error(id: .null, code: -32700, "Parse error: NaN and Infinity are not JSON numbers")
    }
    if case .array(let items) = message {
      guard let negotiated, negotiated < Self.batchlessRevision else {
        return Self.error(
          id: .null, code: -32600,
          "Invalid Request: JSON-RPC batches are not accepted "
            + (initialized
              ? "under protocol \(negotiated ?? "") (MCP \(Self.batchlessRevision) removed them)"
              : "before initialize (initialize must not be batched)")
            + "; send each request as its own message")
      }
      for (index, item) in items.enumerated() {
        if let refusal = checkRequest(item) {
          let detail = (try? JSONParser.parse([UInt8](refusal)))?["error"]?["message"]?.stringValue ?? ""
          return Self.error(id: .null, code: -32600, "Invalid Request: batch item \(index): \(detail)")
        }
      }
      return nil
    }
    return checkRequest(message)
  }

  /// The reply to one request object refused here, or `nil`.
  private func checkRequest(_ message: JSONValue) -> Data? {
    guard let fields = message.objectValue else {
      return Self.error(id: .null, code: -32600, "Invalid Request: a message must be a JSON object")
    }
    let id = fields["id"]
    if let id {
      switch id {
      case .string: break
      case .number(let number) where number == number.rounded() && abs(number) <= 9_007_199_254_740_991: break
      default:
        return Self.error(
          id: .null, code: -32600,
          "Invalid Request: id must be a string or an integer, got \(ParameterTable.shown(id)) (\(id.typeName))")
      }
    }
    // A notification, or a response (a message with `result` or `error` is one to the SDK,
    // whatever `method` it also carries).
    guard let method = fields["method"]?.stringValue, let id, fields["result"] == nil, fields["error"] == nil
    else { return nil }
    if method == "initialize" {
      if negotiated == nil { initializeID = id }
      return nil
    }
    if !initialized && method != "ping" {
      let text = "\(method) before initialize; send initialize (and notifications/initialized) first"
      auditToolCall(message, .invalidArgument(param: "method", message: text))
      return Self.error(id: id, code: -32600, "Invalid Request: \(text)")
    }
    guard method == "tools/call" else { return nil }
    guard let params = fields["params"]?.objectValue else {
      return refuseToolCall(id: id, tool: "(none)", [:], field: "params", expected: "an object", got: fields["params"])
    }
    guard let name = params["name"]?.stringValue else {
      return refuseToolCall(
        id: id, tool: "(none)", [:], field: "params.name", expected: "a string", got: params["name"])
    }
    if let arguments = params["arguments"], arguments != .null, arguments.objectValue == nil {
      return refuseToolCall(
        id: id, tool: name, [:], field: "params.arguments", expected: "an object", got: arguments)
    }
    if let meta = params["_meta"], meta != .null, meta.objectValue == nil {
      return refuseToolCall(id: id, tool: name, [:], field: "params._meta", expected: "an object", got: meta)
    }
    return nil
  }

  private func refuseToolCall(
    id: JSONValue, tool: String, _ arguments: [String: JSONValue], field: String, expected: String,
    got: JSONValue?
  ) -> Data {
    let shown = got.map { "\(ParameterTable.shown($0)) (\($0.typeName))" } ?? "nothing"
    let message = "\(field) must be \(expected), got \(shown)"
    audit(tool, arguments, .invalidArgument(param: field, message: message))
    return Self.error(id: id, code: -32602, "Invalid params: \(message)")
  }

  /// Audits a `tools/call` refused before its fields could be trusted.
  private func auditToolCall(_ message: JSONValue, _ error: VlatuneError) {
    guard message["method"]?.stringValue == "tools/call" else { return }
    let tool = message["params"]?["name"]?.stringValue ?? "(none)"
    audit(tool, [:], error)
  }

  /// Notes the negotiated protocol when the reply to `initialize` goes out (an error reply
  /// leaves the session uninitialized); whether `data` is that reply.
  private func observeInitializeResponse(_ data: Data) -> Bool {
    guard negotiated == nil, let initializeID,
      let reply = try? JSONParser.parse([UInt8](data)), reply["id"] == initializeID
    else { return false }
    if let version = reply["result"]?["protocolVersion"]?.stringValue {
      negotiated = version
    } else {
      self.initializeID = nil
    }
    return true
  }

  static func holdsNonFiniteNumber(_ value: JSONValue) -> Bool {
    switch value {
    case .number(let number): return !number.isFinite
    case .array(let items): return items.contains(where: holdsNonFiniteNumber)
    case .object(let members): return members.values.contains(where: holdsNonFiniteNumber)
    case .null, .bool, .string: return false
    }
  }

  /// A JSON-RPC error response.
  static func error(id: JSONValue, code: Int, _ message: String) -> Data {
    let document: JSONValue = .object([
      "jsonrpc": .string("2.0"), "id": id,
      "error": .object(["code": .number(Double(code)), "message": .string(message)]),
    ])
    return Data(((try? JSONOutput.string(AnyJSON(document), pretty: false)) ?? "{}").utf8)
  }
}
