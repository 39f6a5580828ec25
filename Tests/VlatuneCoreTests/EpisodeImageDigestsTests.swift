import Foundation
import Testing

@testable import VlatuneArchive
@testable import VlatuneCore
@testable import VlatuneDatasets
@testable import VlatuneFormats
@testable import VlatuneGuardrails
@testable import VlatuneJobs
@testable import VlatuneStore
@testable import VlatuneSupport

@Suite struct EpisodeImageDigestsTests {
  /// More episodes than the queue holds, added out of order: each digest is the SHA-256 of that
  /// episode's images one after another, an episode never added stays "", and `finish()` can be
  /// called again.
  @Test func digestsAreEachEpisodesImagesInOrder() {
    let count = EpisodeImageDigests.capacity * 4 + 1
    let digests = EpisodeImageDigests(count: count)
    var expected = [String](repeating: "", count: count)
    for index in (0..<(count - 1)).reversed() {
      let images = (0..<3).map { camera in
        [UInt8](repeating: UInt8(truncatingIfNeeded: index * 7 + camera), count: 500 + index * 11 + camera)
      }
      expected[index] = SHA256Hasher.hex(images.flatMap { $0 })
      digests.add(index, images: images)
    }
    let result = digests.finish()
    #expect(result == expected)
    #expect(result[count - 1] == "")
    #expect(digests.finish() == expected)
  }

  /// Once finished, nothing more is taken (and `add` does not block).
  @Test func addingAfterFinishIsIgnored() {
    let digests = EpisodeImageDigests(count: 2)
    digests.add(0, images: [[1, 2, 3]])
    let first = digests.finish()
    digests.add(1, images: [[4, 5, 6]])
    #expect(digests.finish() == first)
    #expect(first[0] == SHA256Hasher.hex([1, 2, 3]))
    #expect(first[1] == "")
  }
}
