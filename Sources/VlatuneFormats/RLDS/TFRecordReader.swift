import Foundation
import VlatuneSupport

/// Reads the records of a TFRecord file one at a time, verifying both checksums of each:
/// `uint64 length`, `uint32 masked_crc32c(length)`, `data[length]`, `uint32 masked_crc32c(data)`
/// (all little-endian).
package final class TFRecordReader {
  /// A record that fails its framing: which record, where, and why.
  struct Problem: Error, CustomStringConvertible {
    var record: Int
    var offset: Int64
    var message: String
    var description: String { "record \(record) at byte \(offset): \(message)" }
  }

  /// The largest record accepted (one RLDS episode; hostile lengths must not allocate).
  static let maximumRecordBytes: UInt64 = 4 << 30

  /// Where the records come from: a file, or bytes in memory (the fuzz harness).
  private enum Storage {
    case file(FileHandle)
    case memory([UInt8])
  }

  private let storage: Storage
  private(set) var recordIndex = 0
  private(set) var offset: Int64 = 0
  /// The next byte to read from `.memory` storage.
  private var memoryPosition = 0

  init(path: String) throws {
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw VlatuneError.ioFailure(path: path, message: "cannot open the file")
    }
    self.storage = .file(handle)
  }

  /// Reads records from bytes held in memory.
  package init(bytes: [UInt8]) {
    self.storage = .memory(bytes)
  }

  deinit { if case .file(let handle) = storage { try? handle.close() } }

  private func read(_ count: Int) throws -> [UInt8]? {
    var result: [UInt8] = []
    switch storage {
    case .file(let handle):
      result.reserveCapacity(count)
      while result.count < count {
        guard let data = try handle.read(upToCount: count - result.count), !data.isEmpty else { break }
        result += data
      }
    case .memory(let bytes):
      let start = min(bytes.count, memoryPosition)
      let end = start + min(count, bytes.count - start)
      result = Array(bytes[start..<end])
      memoryPosition = end
    }
    if result.isEmpty { return nil }
    guard result.count == count else {
      throw Problem(record: recordIndex, offset: offset, message: "the file ends inside the record (truncated)")
    }
    return result
  }

  private static func littleEndian<T: FixedWidthInteger>(_ bytes: ArraySlice<UInt8>, as: T.Type) -> T {
    var value: T = 0
    for (shift, byte) in bytes.enumerated() { value |= T(byte) << (8 * shift) }
    return value
  }

  /// The next record's data, or `nil` at the end of the file.
  package func next() throws -> [UInt8]? {
    guard let header = try read(12) else { return nil }
    let length = Self.littleEndian(header[0..<8], as: UInt64.self)
    let lengthCRC = Self.littleEndian(header[8..<12], as: UInt32.self)
    let expected = header[0..<8].withUnsafeBytes { CRC32C.masked(CRC32C.checksum($0)) }
    guard lengthCRC == expected else {
      throw Problem(
        record: recordIndex, offset: offset,
        message: "length checksum mismatch (stored \(hex(lengthCRC)), computed \(hex(expected))); "
          + "the file is corrupt")
    }
    guard length <= Self.maximumRecordBytes else {
      throw Problem(record: recordIndex, offset: offset, message: "record of \(length) bytes is too large")
    }
    let truncated = Problem(
      record: recordIndex, offset: offset, message: "the file ends inside the record (truncated)")
    let data = length == 0 ? [] : try read(Int(length))
    guard let data, let trailer = try read(4) else { throw truncated }
    let dataCRC = Self.littleEndian(trailer[0..<4], as: UInt32.self)
    let computed = CRC32C.masked(CRC32C.checksum(data))
    guard dataCRC == computed else {
      throw Problem(
        record: recordIndex, offset: offset,
        message: "data checksum mismatch (stored \(hex(dataCRC)), computed \(hex(computed))); the "
          + "file is corrupt")
    }
    recordIndex += 1
    offset += 16 + Int64(length)
    return data
  }

  private func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16) }
}
