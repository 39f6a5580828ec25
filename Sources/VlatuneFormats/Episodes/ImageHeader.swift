import VlatuneSupport

/// Reads the size and encoding of a JPEG or PNG from its header, and checks that the file is
/// complete (ends with its end marker), without decoding pixels.
public struct ImageHeader: Sendable, Equatable {
  /// `jpeg` or `png`.
  public var encoding: String
  /// Width in pixels.
  public var width: Int
  /// Height in pixels.
  public var height: Int

  /// Why an image was refused.
  public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
    /// Neither a JPEG nor a PNG signature.
    case unknownFormat
    /// The header ends before the size is known, or the end marker is missing.
    case truncated(String)
    /// The header is present but malformed.
    case corrupt(String)

    /// A readable explanation.
    public var description: String {
      switch self {
      case .unknownFormat: "not a JPEG or PNG image (unknown signature)"
      case .truncated(let detail): "truncated image: \(detail)"
      case .corrupt(let detail): "corrupt image header: \(detail)"
      }
    }
  }

  private static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
  private static let pngEnd: [UInt8] = [0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82]

  /// Inspects an encoded image.
  ///
  /// - Throws: ``Problem`` when the bytes are not a complete JPEG or PNG with a valid size.
  public static func inspect(_ bytes: UnsafeRawBufferPointer) throws -> ImageHeader {
    if bytes.count >= 2 && bytes[0] == 0xFF && bytes[1] == 0xD8 { return try jpeg(bytes) }
    if bytes.count >= 8 && zip(pngSignature, bytes).allSatisfy({ $0 == $1 }) {
      return try png(bytes)
    }
    if bytes.count < 8 { throw Problem.truncated("only \(bytes.count) bytes") }
    throw Problem.unknownFormat
  }

  /// Inspects an encoded image.
  public static func inspect(_ bytes: [UInt8]) throws -> ImageHeader {
    try bytes.withUnsafeBytes { try inspect($0) }
  }

  private static func bigEndian16(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> Int {
    Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
  }

  private static func bigEndian32(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> Int {
    Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8
      | Int(bytes[offset + 3])
  }

  private static func jpeg(_ bytes: UnsafeRawBufferPointer) throws -> ImageHeader {
    var end = bytes.count
    while end > 2 && bytes[end - 1] == 0 { end -= 1 }
    guard end >= 4, bytes[end - 2] == 0xFF, bytes[end - 1] == 0xD9 else {
      throw Problem.truncated("no JPEG end-of-image marker (FFD9)")
    }
    var offset = 2
    while offset + 4 <= bytes.count {
      guard bytes[offset] == 0xFF else {
        throw Problem.corrupt("expected a JPEG marker at byte \(offset)")
      }
      var marker = bytes[offset + 1]
      while marker == 0xFF && offset + 2 < bytes.count {
        offset += 1
        marker = bytes[offset + 1]
      }
      if marker == 0x01 || (0xD0...0xD7).contains(marker) {
        offset += 2
        continue
      }
      if marker == 0xD9 || marker == 0xDA { break }
      let length = bigEndian16(bytes, offset + 2)
      guard length >= 2 else { throw Problem.corrupt("segment length \(length) at byte \(offset)") }
      let isStartOfFrame =
        (0xC0...0xCF).contains(marker) && marker != 0xC4 && marker != 0xC8 && marker != 0xCC
      if isStartOfFrame {
        guard offset + 9 <= bytes.count else { throw Problem.truncated("frame header cut off") }
        let height = bigEndian16(bytes, offset + 5)
        let width = bigEndian16(bytes, offset + 7)
        guard width > 0, height > 0 else {
          throw Problem.corrupt("frame size \(width)×\(height)")
        }
        return ImageHeader(encoding: "jpeg", width: width, height: height)
      }
      offset += 2 + length
    }
    throw Problem.corrupt("no JPEG frame header (SOF) before the image data")
  }

  private static func png(_ bytes: UnsafeRawBufferPointer) throws -> ImageHeader {
    guard bytes.count >= 33 else { throw Problem.truncated("PNG header cut off") }
    guard bigEndian32(bytes, 8) == 13, bytes[12] == 0x49, bytes[13] == 0x48, bytes[14] == 0x44,
      bytes[15] == 0x52
    else { throw Problem.corrupt("the first PNG chunk is not IHDR") }
    let width = bigEndian32(bytes, 16)
    let height = bigEndian32(bytes, 20)
    guard width > 0, height > 0 else { throw Problem.corrupt("frame size \(width)×\(height)") }
    guard bytes.count >= 45, zip(pngEnd, bytes[(bytes.count - 12)...]).allSatisfy({ $0 == $1 })
    else { throw Problem.truncated("no PNG IEND chunk at the end") }
    return ImageHeader(encoding: "png", width: width, height: height)
  }
}
