internal import CFileIO
import Foundation
import Glibc
import VlatuneSupport

/// Writes blocks to a file on a thread of its own and hashes them there, so that a shard's
/// writes and its SHA-256 run beside the work that produces the blocks (reading, validating and
/// hashing the source's images) instead of after it.
///
/// Full blocks go through an `O_DIRECT` descriptor when the file system takes one: straight
/// from the block to the disk, without the kernel's copy into newly allocated page-cache pages
/// (on this project's VMs that copy was ~30% of `dataset prepare`'s CPU time; a 1 GB prepare
/// writes 1 GB it does not read back). The last, partial block, and every block when `O_DIRECT`
/// is refused, go through the ordinary descriptor, whose write-back is started at once
/// (`vt_start_writeback`) so the shard's final fsync has little left to wait for.
///
/// At most ``capacity`` blocks wait; ``append(_:)`` blocks while the queue is full. The first
/// write error stops the writing, drops what waits and is returned by every later `append` and
/// by ``finish()``, so the caller fails at its next block. The owner must call ``finish()``
/// (``TarShardWriter`` does, also when it is dropped unfinished): until then the thread waits.
final class BlockWriter: @unchecked Sendable {
  /// Blocks waiting at most (1 MiB each from ``TarShardWriter``).
  static let capacity = 4

  private let descriptor: Int32
  /// The same file opened with `O_DIRECT`, while direct writes work (the caller closes it).
  private var direct: Int32?
  private let condition = NSCondition()
  // Guarded by `condition`.
  private var pending: [AlignedBlock] = []
  /// Written blocks kept for reuse: a fresh 1 MiB buffer per block costs an mmap, 256 page
  /// faults and an munmap.
  private var spare: [AlignedBlock] = []
  private var closing = false
  private var done = false
  private var failure: Int32 = 0
  // Touched only by the writing thread until `finish()` has seen it stop.
  private let hasher = SHA256Hasher()
  private var written: Int64 = 0

  /// Starts the writing thread for `descriptor`, with `direct` (the same file opened with
  /// `O_DIRECT`) for whole aligned blocks when given. Both stay the caller's to close.
  init(descriptor: Int32, direct: Int32? = nil) {
    self.descriptor = descriptor
    self.direct = direct
    let thread = Thread { [self] in run() }
    thread.name = "vlatune-shard-writer"
    thread.start()
  }

  /// Queues a copy of `buffer`.
  ///
  /// - Returns: 0, or the `errno` of a failed write (nothing more is written then).
  func append(_ buffer: UnsafeRawBufferPointer) -> Int32 {
    append(AlignedBlock(copying: buffer))
  }

  /// Queues `block` (no copy; it is the writer's until it comes back from ``emptyBlock(capacity:)``).
  ///
  /// - Returns: 0, or the `errno` of a failed write (nothing more is written then).
  func append(_ block: AlignedBlock) -> Int32 {
    condition.lock()
    defer { condition.unlock() }
    while pending.count >= Self.capacity && failure == 0 { condition.wait() }
    if failure == 0 {
      pending.append(block)
      condition.broadcast()
    }
    return failure
  }

  /// An empty block of at least `capacity` bytes, reusing a written one when one is free.
  func emptyBlock(capacity: Int) -> AlignedBlock {
    condition.lock()
    let reused = spare.popLast()
    condition.unlock()
    if let reused, reused.capacity >= capacity { return reused }
    return AlignedBlock(capacity: capacity)
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
    while let block = next() {
      if let error = write(block.bytes) {
        condition.lock()
        failure = error
        pending.removeAll()
        condition.broadcast()
        condition.unlock()
      } else {
        hasher.update(block.bytes)
        written += Int64(block.count)
      }
      block.reset()
      condition.lock()
      if spare.count < 2 { spare.append(block) }
      condition.unlock()
    }
  }

  /// The next block, or `nil` once the queue is closed and drained (after a failed write the
  /// queue is dropped, so that is as soon as `finish()` is called).
  private func next() -> AlignedBlock? {
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

  /// Writes all of `bytes` at the end of what is written; returns the `errno` of a failure.
  private func write(_ bytes: UnsafeRawBufferPointer) -> Int32? {
    if let direct, bytes.count % AlignedBlock.alignment == 0 {
      switch writeAll(direct, bytes) {
      case nil: return nil
      case EINVAL?:
        // The file system or the device refuses this direct write: write normally from now on.
        self.direct = nil
      case let error?: return error
      }
    }
    if let error = writeAll(descriptor, bytes) { return error }
    // Let the disk start on this block now rather than at the shard's fsync.
    _ = vt_start_writeback(descriptor, written, Int64(bytes.count))
    return nil
  }

  private func writeAll(_ file: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
    var offset = 0
    while offset < bytes.count {
      let count = pwrite(file, bytes.baseAddress! + offset, bytes.count - offset, off_t(written) + off_t(offset))
      if count < 0 {
        if errno == EINTR { continue }
        return errno
      }
      offset += count
    }
    return nil
  }
}
