import CMedia
import VlatuneSupport

/// Decodes video frames at given timestamps (FFmpeg) and encodes them as JPEG (libjpeg-turbo).
enum VideoFrames {
  /// JPEG quality of frames taken from videos.
  static let jpegQuality: Int32 = 95
  /// How far a decoded frame may be from the timestamp asked for (seconds). LeRobot asks for
  /// 1e-4 s; 1 ms still cannot pick a neighbouring frame below 500 fps and tolerates
  /// millisecond time bases.
  static let tolerance = 1e-3

  /// The frames nearest `timestamps` (non-decreasing, seconds from the file start) as JPEG.
  static func jpegFrames(of path: String, at timestamps: [Double]) throws -> [[UInt8]] {
    let media = try MediaLibrary.functions()
    let video = try open(path)
    defer { media.video_close(video) }
    final class Collector {
      var frames: [[UInt8]] = []
    }
    let collector = Collector()
    var message = [CChar](repeating: 0, count: 512)
    let status = timestamps.withUnsafeBufferPointer { times in
      withExtendedLifetime(collector) {
        media.video_extract_jpeg(
          video, times.baseAddress, times.count, tolerance, jpegQuality,
          { context, _, jpeg, length, _ in
            let collector = Unmanaged<Collector>.fromOpaque(context!).takeUnretainedValue()
            collector.frames.append(Array(UnsafeBufferPointer(start: jpeg, count: length)))
            return 0
          }, Unmanaged.passUnretained(collector).toOpaque(), &message, message.count)
      }
    }
    guard status == 0, collector.frames.count == timestamps.count else {
      throw VideoError(message: Self.text(message))
    }
    return collector.frames
  }

  /// A NUL-terminated C message buffer as text.
  private static func text(_ buffer: [CChar]) -> String {
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
  }

  private static func open(_ path: String) throws -> OpaquePointer {
    var message = [CChar](repeating: 0, count: 512)
    guard let video = try MediaLibrary.functions().video_open(path, &message, message.count) else {
      throw VideoError(message: Self.text(message))
    }
    return video
  }
}

/// A video could not be opened or decoded.
struct VideoError: Error, CustomStringConvertible {
  var message: String
  var description: String { message }
}
