import Glibc
import VlatuneSupport

/// A page-aligned byte buffer of fixed capacity, filled front to back: what `O_DIRECT` writes
/// need (address, length and file offset multiples of the device's block size).
final class AlignedBlock: @unchecked Sendable {
  /// The alignment of the buffer, and the unit `O_DIRECT` writes are made of.
  static let alignment = 4096

  private let base: UnsafeMutableRawPointer
  /// Bytes the block can hold.
  let capacity: Int
  /// Bytes filled.
  private(set) var count = 0

  /// An empty block of `capacity` bytes.
  init(capacity: Int) {
    var pointer: UnsafeMutableRawPointer?
    guard posix_memalign(&pointer, Self.alignment, max(capacity, 1)) == 0, let pointer else {
      fatalError("posix_memalign(\(capacity)): out of memory")
    }
    base = pointer
    self.capacity = capacity
  }

  deinit { free(base) }

  /// A block holding a copy of `bytes`.
  convenience init(copying bytes: UnsafeRawBufferPointer) {
    self.init(capacity: bytes.count)
    _ = append(bytes)
  }

  /// Room left.
  var room: Int { capacity - count }

  /// Copies as much of `bytes` as fits; returns how many bytes were taken.
  func append(_ bytes: UnsafeRawBufferPointer) -> Int {
    let taken = min(bytes.count, room)
    if taken > 0, let source = bytes.baseAddress {
      (base + count).copyMemory(from: source, byteCount: taken)
      count += taken
    }
    return taken
  }

  /// Empties the block (capacity kept).
  func reset() { count = 0 }

  /// The bytes filled.
  var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}
