internal import CCompression
import VlatuneSupport

/// Decompresses Parquet pages: uncompressed, Snappy, Gzip (zlib) and Zstd.
enum PageDecompressor {
  /// Parquet `CompressionCodec` names, for messages.
  static func name(_ codec: Int32) -> String {
    switch codec {
    case 0: return "UNCOMPRESSED"
    case 1: return "SNAPPY"
    case 2: return "GZIP"
    case 3: return "LZO"
    case 4: return "BROTLI"
    case 5: return "LZ4"
    case 6: return "ZSTD"
    case 7: return "LZ4_RAW"
    default: return "codec \(codec)"
    }
  }

  /// Decompresses `bytes[range]` into exactly `size` bytes.
  static func decompress(_ bytes: [UInt8], range: Range<Int>, codec: Int32, size: Int) throws
    -> [UInt8]
  {
    if codec == 0 {
      guard range.count == size else {
        throw ParquetError.malformed(
          "uncompressed page holds \(range.count) bytes, header says \(size)")
      }
      return Array(bytes[range])
    }
    try checkDeclaredSize(bytes, range: range, codec: codec, size: size)
    var output = [UInt8](repeating: 0, count: size)
    let produced: Int = try bytes.withUnsafeBufferPointer { input in
      let source = input.baseAddress! + range.lowerBound
      return try output.withUnsafeMutableBufferPointer { target -> Int in
        switch codec {
        case 1: return try snappy(source, range.count, target)
        case 2: return try gzip(source, range.count, target)
        case 6: return try zstd(source, range.count, target)
        default:
          throw ParquetError.unsupported(
            "compression \(name(codec)) is not supported (use SNAPPY, GZIP, ZSTD or none)")
        }
      }
    }
    guard produced == size else {
      throw ParquetError.malformed(
        "\(name(codec)) page decompressed to \(produced) bytes, header says \(size)")
    }
    return output
  }

  /// The most bytes one page may decompress to: the output is allocated before decoding, so a
  /// bound keeps a few hostile bytes from asking for gigabytes (pyarrow's pages are ~1 MB).
  static let maximumPageBytes = 256 << 20

  /// Refuses a declared uncompressed size the compressed bytes cannot produce, before the output
  /// is allocated: SNAPPY and a single ZSTD frame record their exact size; DEFLATE expands at most
  /// 1032 : 1.
  static func checkDeclaredSize(_ bytes: [UInt8], range: Range<Int>, codec: Int32, size: Int) throws {
    guard size <= maximumPageBytes else {
      throw ParquetError.malformed(
        "a page declares \(size) uncompressed bytes, more than the \(maximumPageBytes) vlatune decompresses "
          + "from one page; rewrite the file with smaller pages (pyarrow: data_page_size)")
    }
    let recorded: Int? = bytes.withUnsafeBufferPointer { input -> Int? in
      guard let base = input.baseAddress, !range.isEmpty else { return nil }
      let source = base + range.lowerBound
      switch codec {
      case 1:
        var length = 0
        let status = source.withMemoryRebound(to: CChar.self, capacity: range.count) {
          snappy_uncompressed_length($0, range.count, &length)
        }
        return status == SNAPPY_OK ? length : nil
      case 6:
        guard ZSTD_findFrameCompressedSize(source, range.count) == range.count else { return nil }
        let content = ZSTD_getFrameContentSize(source, range.count)
        return content < UInt64(Int.max) ? Int(content) : nil
      default:
        return nil
      }
    }
    if let recorded, recorded != size {
      throw ParquetError.malformed(
        "\(name(codec)) page records \(recorded) uncompressed bytes, its header says \(size)")
    }
    if codec == 2, size > range.count * 1032 + 64 {
      throw ParquetError.malformed(
        "GZIP page of \(range.count) bytes cannot decompress to the \(size) its header says")
    }
  }

  private static func snappy(
    _ source: UnsafePointer<UInt8>, _ count: Int, _ target: UnsafeMutableBufferPointer<UInt8>
  ) throws -> Int {
    var length = target.count
    let status = source.withMemoryRebound(to: CChar.self, capacity: count) { input in
      target.baseAddress!.withMemoryRebound(to: CChar.self, capacity: target.count) { output in
        snappy_uncompress(input, count, output, &length)
      }
    }
    guard status == SNAPPY_OK else { throw ParquetError.malformed("corrupt SNAPPY page") }
    return length
  }

  private static func zstd(
    _ source: UnsafePointer<UInt8>, _ count: Int, _ target: UnsafeMutableBufferPointer<UInt8>
  ) throws -> Int {
    let result = ZSTD_decompress(target.baseAddress, target.count, source, count)
    if ZSTD_isError(result) != 0 {
      throw ParquetError.malformed(
        "corrupt ZSTD page: \(String(cString: ZSTD_getErrorName(result)))")
    }
    return result
  }

  private static func gzip(
    _ source: UnsafePointer<UInt8>, _ count: Int, _ target: UnsafeMutableBufferPointer<UInt8>
  ) throws -> Int {
    var stream = z_stream()
    // 15 window bits + 32: accept both gzip and zlib headers.
    guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK
    else { throw ParquetError.malformed("cannot start zlib") }
    defer { inflateEnd(&stream) }
    stream.next_in = UnsafeMutablePointer(mutating: source)
    stream.avail_in = UInt32(count)
    stream.next_out = target.baseAddress
    stream.avail_out = UInt32(target.count)
    var status = Z_OK
    // A page may hold several concatenated gzip members.
    while stream.avail_in > 0 {
      status = inflate(&stream, Z_FINISH)
      if status == Z_STREAM_END, stream.avail_in > 0 {
        guard inflateReset(&stream) == Z_OK else { break }
        continue
      }
      break
    }
    guard status == Z_STREAM_END else { throw ParquetError.malformed("corrupt GZIP page") }
    return target.count - Int(stream.avail_out)
  }
}
