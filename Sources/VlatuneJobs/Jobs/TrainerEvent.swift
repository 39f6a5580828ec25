import Glibc
import VlatuneSupport

/// One line of `events.jsonl` (CONTRACT §7), as the trainer writes it:
/// `{"type": "progress", "step": 10, "total_steps": 100, "loss": 0.3, …}`.
enum TrainerEvent: Equatable {
  case started(totalSteps: Int?, resumedFrom: Int)
  case progress(
    step: Int, totalSteps: Int?, loss: Double?, learningRate: Double?, samplesPerSecond: Double?,
    gradNorm: Double? = nil)
  case checkpoint(step: Int, path: String)
  case eval(step: Int?, metrics: [String: Double])
  /// What the trainer is doing between progress events (`evaluating`, `checkpointing`).
  case phase(String)
  case completed
  case cancelled
  case failed(code: String, message: String)
  /// A well-formed event of a type vlatune does not use.
  case other

  /// The longest accepted line; longer lines are skipped and counted as malformed.
  static let maximumLineBytes = 65_536

  /// Parses one line; `nil` when it is malformed (not a JSON object, no `type`, bad fields).
  static func parse(_ line: [UInt8]) -> TrainerEvent? { parseTimed(line)?.event }

  /// Parses one line with its `time` (seconds since the epoch, when the trainer gave one).
  static func parseTimed(_ line: [UInt8]) -> (event: TrainerEvent, time: Double?)? {
    guard line.count <= maximumLineBytes, let value = try? JSONParser.parse(line),
      let object = value.objectValue,
      let type = (object["type"] ?? object["event"])?.stringValue
    else { return nil }
    func integer(_ key: String) -> Int? {
      guard let number = object[key]?.numberValue, number.isFinite, number >= 0,
        number == number.rounded(), number < 1e15
      else { return nil }
      return Int(number)
    }
    func real(_ key: String) -> Double? {
      guard let number = object[key]?.numberValue, number.isFinite else { return nil }
      return number
    }
    let event: TrainerEvent
    switch type {
    case "started":
      event = .started(totalSteps: integer("total_steps"), resumedFrom: integer("resumed_from") ?? 0)
    case "progress":
      guard let step = integer("step") else { return nil }
      event = .progress(
        step: step, totalSteps: integer("total_steps"), loss: real("loss"),
        learningRate: real("learning_rate"), samplesPerSecond: real("samples_per_second"),
        gradNorm: real("grad_norm"))
    case "checkpoint":
      guard let step = integer("step"), let path = object["path"]?.stringValue else { return nil }
      event = .checkpoint(step: step, path: path)
    case "eval":
      var metrics: [String: Double] = [:]
      for (key, value) in object where !["type", "event", "time", "step"].contains(key) {
        if let number = value.numberValue, number.isFinite { metrics[key] = number }
      }
      event = .eval(step: integer("step"), metrics: metrics)
    case "phase":
      guard let phase = object["phase"]?.stringValue, phase.count <= 32,
        phase.allSatisfy({ $0.isLetter || $0 == "_" })
      else { return nil }
      event = .phase(phase)
    case "completed":
      event = .completed
    case "cancelled":
      event = .cancelled
    case "failed":
      event = .failed(
        code: object["code"]?.stringValue ?? "trainer_failed",
        message: object["message"]?.stringValue ?? "")
    default:
      event = .other
    }
    return (event, real("time"))
  }
}

/// Reads `events.jsonl` incrementally: complete lines only, from a byte offset.
struct EventTail {
  let path: String

  /// Reads new complete lines after `offset`.
  ///
  /// - Returns: The lines and the new offset (just after the last complete line).
  func read(from offset: Int64) -> (lines: [[UInt8]], offset: Int64) {
    guard let handle = FileHandleReader(path: path) else { return ([], offset) }
    let bytes = handle.read(from: offset, limit: 8 << 20)
    var lines: [[UInt8]] = []
    var start = 0
    var consumed = 0
    for index in bytes.indices where bytes[index] == 0x0A {
      lines.append(Array(bytes[start..<index]))
      start = index + 1
      consumed = start
    }
    // A partial line longer than the limit would never complete within the window: skip it.
    if consumed == 0 && bytes.count >= 8 << 20 {
      return ([Array(repeating: 0x20, count: TrainerEvent.maximumLineBytes + 1)], offset + Int64(bytes.count))
    }
    return (lines, offset + Int64(consumed))
  }
}

/// Positional reads of a file.
struct FileHandleReader {
  private let path: String

  init?(path: String) {
    guard FileIO.kind(path) == .regular else { return nil }
    self.path = path
  }

  func read(from offset: Int64, limit: Int) -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return [] }
    defer { close(descriptor) }
    var info = stat()
    guard fstat(descriptor, &info) == 0, Int64(info.st_size) > offset else { return [] }
    let wanted = min(limit, Int(Int64(info.st_size) - offset))
    var buffer = [UInt8](repeating: 0, count: wanted)
    let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, wanted, off_t(offset)) }
    return count > 0 ? Array(buffer.prefix(count)) : []
  }
}
