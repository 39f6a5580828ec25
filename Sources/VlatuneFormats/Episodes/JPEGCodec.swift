import CMedia
import VlatuneSupport

/// JPEG encoding and lossless-where-possible rotation (libjpeg-turbo, through `CVideo`).
package enum JPEGCodec {
  /// The quality raw frames are encoded at.
  static let quality: Int32 = 95

  /// A codec call failed.
  struct Problem: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
  }

  private static func run(
    _ body: (inout UnsafeMutablePointer<UInt8>?, inout Int, UnsafeMutablePointer<CChar>, Int) -> Int32
  ) throws -> [UInt8] {
    let media = try MediaLibrary.functions()
    var output: UnsafeMutablePointer<UInt8>?
    var length = 0
    var message = [CChar](repeating: 0, count: 256)
    let status = message.withUnsafeMutableBufferPointer { body(&output, &length, $0.baseAddress!, $0.count) }
    defer { media.media_free(output) }
    guard status == 0, let output else {
      throw Problem(message: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    return Array(UnsafeBufferPointer(start: output, count: length))
  }

  /// Encodes an RGB image (`height × width × 3` bytes, row-major).
  static func encode(rgb: [UInt8], width: Int, height: Int) throws -> [UInt8] {
    let media = try MediaLibrary.functions()
    return try rgb.withUnsafeBufferPointer { pixels in
      try run { output, length, message, capacity in
        media.jpeg_encode_rgb(
          pixels.baseAddress, Int32(width), Int32(height), quality, &output, &length, message, capacity)
      }
    }
  }

  /// Decodes a JPEG into RGB pixels (`height × width × 3` bytes, row-major).
  package static func decode(_ jpeg: [UInt8]) throws -> (rgb: [UInt8], width: Int, height: Int) {
    let media = try MediaLibrary.functions()
    var width: Int32 = 0
    var height: Int32 = 0
    var output: UnsafeMutablePointer<UInt8>?
    var message = [CChar](repeating: 0, count: 256)
    let status = jpeg.withUnsafeBufferPointer { input in
      message.withUnsafeMutableBufferPointer {
        media.jpeg_decode_rgb(input.baseAddress, input.count, &output, &width, &height, $0.baseAddress, $0.count)
      }
    }
    defer { media.media_free(output) }
    guard status == 0, let output else {
      throw Problem(message: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    let rgb = Array(UnsafeBufferPointer(start: output, count: Int(width) * Int(height) * 3))
    return (rgb, Int(width), Int(height))
  }

  /// Rotates a JPEG by 180° (lossless when the size is a whole number of MCUs).
  package static func rotate180(_ jpeg: [UInt8]) throws -> [UInt8] {
    let media = try MediaLibrary.functions()
    return try jpeg.withUnsafeBufferPointer { input in
      try run { output, length, message, capacity in
        media.jpeg_rotate180(input.baseAddress, input.count, &output, &length, message, capacity)
      }
    }
  }

  /// Rotates raw RGB pixels by 180° (the pixel order reversed).
  package static func rotate180(rgb: [UInt8]) -> [UInt8] {
    var result = [UInt8](repeating: 0, count: rgb.count)
    let pixels = rgb.count / 3
    for pixel in 0..<pixels {
      let from = pixel * 3
      let to = (pixels - 1 - pixel) * 3
      result[to] = rgb[from]
      result[to + 1] = rgb[from + 1]
      result[to + 2] = rgb[from + 2]
    }
    return result
  }
}
