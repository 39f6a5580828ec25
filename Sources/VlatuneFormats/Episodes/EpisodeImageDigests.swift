import Foundation
import VlatuneSupport

/// The SHA-256 of each episode's image bytes (for the source fingerprint), computed on a thread
/// of its own.
///
/// `dataset prepare` reads, checks and shards the images on one thread while a
/// ``BlockWriter`` writes and hashes the shards on another; hashing the images a second time on
/// the reading thread made it the slowest of the two (2 cores: ~65% of the CPU time was that
/// thread's). ``add(_:images:)`` hands the episode's images over (no copy: arrays share their
/// storage) and blocks while ``capacity`` episodes wait, so memory stays bounded.
package final class EpisodeImageDigests: @unchecked Sendable {
  /// Episodes waiting at most.
  static let capacity = 2

  private let condition = NSCondition()
  // Guarded by `condition`.
  private var pending: [(index: Int, images: [[UInt8]])] = []
  private var digests: [String]
  private var closing = false
  private var done = false

  /// Starts the hashing thread for `count` episodes.
  package init(count: Int) {
    digests = [String](repeating: "", count: count)
    let thread = Thread { [self] in run() }
    thread.name = "vlatune-image-digests"
    thread.start()
  }

  /// Queues episode `index`'s images.
  package func add(_ index: Int, images: [[UInt8]]) {
    condition.lock()
    defer { condition.unlock() }
    while pending.count >= Self.capacity && !closing { condition.wait() }
    guard !closing else { return }
    pending.append((index, images))
    condition.broadcast()
  }

  /// Waits for the queued episodes, stops the thread and returns every digest (hex; "" for an
  /// episode never added). Calling it again returns the same digests.
  package func finish() -> [String] {
    condition.lock()
    defer { condition.unlock() }
    closing = true
    condition.broadcast()
    while !done { condition.wait() }
    return digests
  }

  private func run() {
    while let (index, images) = next() {
      let hasher = SHA256Hasher()
      for image in images { hasher.update(image) }
      let digest = hasher.hexDigest()
      condition.lock()
      digests[index] = digest
      condition.unlock()
    }
  }

  /// The next episode, or `nil` once the queue is closed and drained.
  private func next() -> (index: Int, images: [[UInt8]])? {
    condition.lock()
    defer { condition.unlock() }
    while pending.isEmpty && !closing { condition.wait() }
    guard !pending.isEmpty else {
      done = true
      condition.broadcast()
      return nil
    }
    let item = pending.removeFirst()
    condition.broadcast()
    return item
  }
}
