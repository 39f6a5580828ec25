import VlatuneSupport

/// An episode's image paths (`steps × cameras`, step-major) in one UTF-8 buffer with an end
/// offset per path, instead of one heap-allocated `String` each: pass 1 keeps every episode's
/// paths until pass 2, so at millions of images this is most of what prepare holds besides the
/// numbers its exact statistics need. An empty path marks a step without that camera's image.
public struct ImagePaths: RandomAccessCollection, ExpressibleByArrayLiteral, Sendable, Equatable {
  private var bytes: [UInt8] = []
  private var ends: [UInt32] = []

  public init() {}

  /// The paths, in order.
  public init<Paths: Sequence>(_ paths: Paths) where Paths.Element == String {
    for path in paths { append(path) }
  }

  public init(arrayLiteral paths: String...) { self.init(paths) }

  public var startIndex: Int { 0 }
  public var endIndex: Int { ends.count }

  public subscript(position: Int) -> String {
    let start = position == 0 ? 0 : Int(ends[position - 1])
    return String(decoding: bytes[start..<Int(ends[position])], as: UTF8.self)
  }

  /// The UTF-8 bytes of all paths together.
  public var byteCount: Int { bytes.count }

  /// Makes room for `paths` paths of `bytes` UTF-8 bytes in all.
  public mutating func reserveCapacity(paths: Int, bytes: Int) {
    ends.reserveCapacity(paths)
    self.bytes.reserveCapacity(bytes)
  }

  /// Adds a path at the end.
  public mutating func append(_ path: String) {
    bytes += path.utf8
    precondition(bytes.count <= UInt32.max, "image paths of one episode exceed 4 GiB")
    ends.append(UInt32(bytes.count))
  }
}
