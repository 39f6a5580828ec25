import VlatuneSupport

/// Decodes Parquet's RLE / bit-packing hybrid encoding (definition and repetition levels,
/// dictionary indices, RLE booleans): runs of one repeated value, or groups of 8 values packed
/// LSB-first at a fixed bit width.
struct RLEHybridDecoder {
  private let bytes: [UInt8]
  private var position: Int
  private let end: Int
  private let bitWidth: Int

  /// - Parameters:
  ///   - bytes: The buffer holding the encoded data at `start..<end`.
  ///   - bitWidth: Bits per value (0–32).
  init(_ bytes: [UInt8], start: Int, end: Int, bitWidth: Int) throws {
    guard (0...32).contains(bitWidth) else {
      throw ParquetError.malformed("RLE bit width \(bitWidth) is out of range")
    }
    self.bytes = bytes
    self.position = start
    self.end = min(end, bytes.count)
    self.bitWidth = bitWidth
  }

  /// Decodes exactly `count` values.
  mutating func decode(count: Int) throws -> [Int32] {
    var values: [Int32] = []
    values.reserveCapacity(count)
    if bitWidth == 0 { return [Int32](repeating: 0, count: count) }
    while values.count < count {
      let header = try varint()
      if header & 1 == 0 {
        let run = Int(header >> 1)
        let byteCount = (bitWidth + 7) / 8
        guard end - position >= byteCount else {
          throw ParquetError.malformed("RLE run value ends early")
        }
        var value: UInt32 = 0
        for index in 0..<byteCount { value |= UInt32(bytes[position + index]) << (8 * index) }
        position += byteCount
        let take = min(run, count - values.count)
        values.append(contentsOf: repeatElement(Int32(bitPattern: value), count: take))
      } else {
        let groups = Int(header >> 1)
        let byteCount = groups * bitWidth
        let needed = min(groups * 8, count - values.count)
        guard groups > 0, end - position >= (needed * bitWidth + 7) / 8 else {
          throw ParquetError.malformed("bit-packed run ends early")
        }
        let available = min(byteCount, end - position)
        let mask: UInt64 = bitWidth == 32 ? 0xffff_ffff : (1 << UInt64(bitWidth)) - 1
        var buffer: UInt64 = 0
        var bits = 0
        var consumed = 0
        // Only the values asked for are unpacked: a header may declare billions of groups
        // (a fuzzed file did, and this loop ran for each of them); the rest of the run is skipped.
        for _ in 0..<needed {
          while bits < bitWidth {
            let next: UInt64 = consumed < available ? UInt64(bytes[position + consumed]) : 0
            buffer |= next << UInt64(bits)
            bits += 8
            consumed += 1
          }
          values.append(Int32(bitPattern: UInt32(buffer & mask)))
          buffer >>= UInt64(bitWidth)
          bits -= bitWidth
        }
        position += available
      }
    }
    return values
  }

  private mutating func varint() throws -> UInt64 {
    var result: UInt64 = 0
    var shift: UInt64 = 0
    while true {
      guard position < end else { throw ParquetError.malformed("RLE data ends early") }
      let next = bytes[position]
      position += 1
      guard shift < 35 else { throw ParquetError.malformed("RLE header is too long") }
      result |= UInt64(next & 0x7f) << shift
      if next & 0x80 == 0 { return result }
      shift += 7
    }
  }

  /// Bits needed for values up to `maximum` (Parquet's level bit width).
  static func bitWidth(for maximum: Int) -> Int {
    maximum <= 0 ? 0 : Int.bitWidth - maximum.leadingZeroBitCount
  }
}
