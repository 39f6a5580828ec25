internal import CFileIO
import Foundation
import Glibc

/// Writes blocks to a file descriptor on a thread of its own and hashes them there, so that a
/// shard's `write(2)` (the kernel's copy into the page cache) and its SHA-256 run beside the
/// work that produces the blocks (reading, validating and hashing the source's images) instead
/// of after it. Each block's write-back to disk is started as soon as it is written
/// (`vt_start_writeback`), so the shard's final fsync has little left to wait for.
///
/// At most ``capacity`` blocks wait; ``append(_:)`` blocks while the queue is full. The first
/// write error stops the writing, drops what waits and is returned by every later `append` and
/// by ``finish()``, so the caller fails at its next block. The owner must call ``finish()``
/// (``TarShardWriter`` does, also when it is dropped unfinished): until then the thread waits.
final class BlockWriter: @unchecked Sendable {
  /// Blocks waiting at most (1 MiB each from ``TarShardWriter``).
  static let capacity = 4

  private let descriptor: Int32
  private let condition = NSCondition()
  // Guarded by `condition`.
  private var pending: [[UInt8]] = []
  /// Written blocks kept for reuse (emptied, capacity kept): a fresh 1 MiB array per block
  /// costs an mmap, 256 page faults and an munmap.
  private var spare: [[UInt8]] = []
  private var closing = false
  private var done = false
  private var failure: Int32 = 0
  // Touched only by the writing thread until `finish()` has seen it stop.
  private let hasher = SHA256Hasher()
  private var written: Int64 = 0

  /// Starts the writing thread for `descriptor` (which stays the caller's to close).
  init(descriptor: Int32) {
    self.descriptor = descriptor
    let thread = Thread { [self] in run() }
    thread.name = "vlatune-shard-writer"
    thread.start()
  }

  /// Queues a copy of `buffer`.
  ///
  /// - Returns: 0, or the `errno` of a failed write (nothing more is written then).
  func append(_ buffer: UnsafeRawBufferPointer) -> Int32 {
    append([UInt8](buffer))
  }

  /// Queues `block` (no copy: the array's storage moves to the writing thread).
  ///
  /// - Returns: 0, or the `errno` of a failed write (nothing more is written then).
  func append(_ block: [UInt8]) -> Int32 {
    condition.lock()
    defer { condition.unlock() }
    while pending.count >= Self.capacity && failure == 0 { condition.wait() }
    if failure == 0 {
      pending.append(block)
      condition.broadcast()
    }
    return failure
  }

  /// An empty array with room for `capacity` bytes, reusing a written block's storage when
  /// one is free.
  func emptyBlock(capacity: Int) -> [UInt8] {
    condition.lock()
    let reused = spare.popLast()
    condition.unlock()
    if let reused, reused.capacity >= capacity { return reused }
    var fresh: [UInt8] = []
    fresh.reserveCapacity(capacity)
    return fresh
  }

  /// Waits until every queued block is written and stops the thread.
  ///
  /// - Returns: The bytes written and their SHA-256 (hex), or the `errno` of a failed write.
  /// Calling it again returns the same result.
  func finish() -> Result<(bytes: Int64, sha256: String), WriteFailure> {
    condition.lock()
    closing = true
    condition.broadcast()
    while !done { condition.wait() }
    let failure = failure
    condition.unlock()
    if let result { return result }
    let finished: Result<(bytes: Int64, sha256: String), WriteFailure> =
      failure != 0 ? .failure(WriteFailure(errno: failure)) : .success((written, hasher.hexDigest()))
    result = finished
    return finished
  }

  /// The outcome, once ``finish()`` has produced it.
  private var result: Result<(bytes: Int64, sha256: String), WriteFailure>?

  /// A `write(2)` failure.
  struct WriteFailure: Error {
    var errno: Int32
  }

  private func run() {
    while var block = next() {
      defer {
        block.removeAll(keepingCapacity: true)
        condition.lock()
        if spare.count < 2 { spare.append(block) }
        condition.unlock()
      }
      if let error = write(block) {
        condition.lock()
        failure = error
        pending.removeAll()
        condition.broadcast()
        condition.unlock()
      } else {
        // Let the disk start on this block now rather than at the shard's fsync.
        _ = vt_start_writeback(descriptor, written, Int64(block.count))
        block.withUnsafeBytes { hasher.update($0) }
        written += Int64(block.count)
      }
    }
  }

  /// The next block, or `nil` once the queue is closed and drained (after a failed write the
  /// queue is dropped, so that is as soon as `finish()` is called).
  private func next() -> [UInt8]? {
    condition.lock()
    defer { condition.unlock() }
    while pending.isEmpty && !closing { condition.wait() }
    guard let block = pending.first else {
      done = true
      condition.broadcast()
      return nil
    }
    pending.removeFirst()
    condition.broadcast()
    return block
  }

  /// Writes all of `block`; returns the `errno` of a failure.
  private func write(_ block: [UInt8]) -> Int32? {
    block.withUnsafeBytes { buffer -> Int32? in
      var offset = 0
      while offset < buffer.count {
        let count = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
        if count < 0 {
          if errno == EINTR { continue }
          return errno
        }
        offset += count
      }
      return nil
    }
  }
}
