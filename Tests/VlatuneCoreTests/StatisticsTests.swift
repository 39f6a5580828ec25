import Foundation
import Testing
import VlatuneTestSupport

@testable import VlatuneArchive
@testable import VlatuneCore
@testable import VlatuneDatasets
@testable import VlatuneFormats
@testable import VlatuneGuardrails
@testable import VlatuneJobs
@testable import VlatuneStore
@testable import VlatuneSupport

@Suite struct StatisticsTests {
  @Test func closedFormValues() {
    let values = (0...100).map(Double.init)
    let stats = VectorStatistics.compute(values: values, dimension: 1)
    #expect(stats.mean == [50])
    #expect(abs(stats.std[0] - 850.0.squareRoot()) < 1e-12)
    #expect(stats.min == [0])
    #expect(stats.max == [100])
    #expect(stats.q01 == [1])
    #expect(stats.q99 == [99])
  }

  /// Statistics over episodes' blocks are those of the rows concatenated, exactly.
  @Test func blocksGiveTheStatisticsOfTheirRowsTogether() {
    var generator = SeededGenerator(seed: 7)
    let dimension = 3
    let blocks = [5, 1, 12, 0, 7].map { rows in
      (0..<(rows * dimension)).map { _ in Double.random(in: -2...2, using: &generator) }
    }
    let whole = VectorStatistics.compute(values: blocks.flatMap { $0 }, dimension: dimension)
    #expect(VectorStatistics.compute(blocks: blocks, dimension: dimension) == whole)
    #expect(VectorStatistics.zeros(dimension: 2) == VectorStatistics.compute(values: [0, 0, 0, 0], dimension: 2))
  }

  @Test func quantileInterpolatesLinearly() {
    #expect(VectorStatistics.quantile(sorted: [0, 10], 0.01) == 0.1)
    #expect(VectorStatistics.quantile(sorted: [0, 10], 0.99) == 9.9)
    #expect(VectorStatistics.quantile(sorted: [3], 0.99) == 3)
  }

  @Test(.enabled(if: TestPaths.hasPython)) func matchesNumpyOnRandomData() throws {
    var generator = SeededGenerator(seed: 7)
    let dimension = 5
    let rows = 1_537
    var values: [Double] = []
    for row in 0..<rows {
      for dim in 0..<dimension {
        let uniform = Double(generator.next() >> 11) / Double(1 << 53)
        // Mixed scales and a heavy tail, so quantiles are not trivially at sample points.
        values.append(dim == 4 ? (row % 3 == 0 ? 1 : 0) : pow(uniform, Double(dim + 1)) * 1e3 - 7)
      }
    }
    let directory = TemporaryDirectory()
    let file = directory.appending("values.txt")
    try values.map { "\($0)" }.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
    let script = """
      import json, sys, numpy as np
      a = np.loadtxt(sys.argv[1]).reshape(-1, \(dimension))
      print(json.dumps({"mean": a.mean(0).tolist(), "std": a.std(0).tolist(),
        "min": a.min(0).tolist(), "max": a.max(0).tolist(),
        "q01": np.quantile(a, 0.01, axis=0).tolist(), "q99": np.quantile(a, 0.99, axis=0).tolist()}))
      """
    let result = try ProcessRunner.run(TestPaths.python!, ["-c", script, file.path])
    #expect(result.status == 0, "\(result.standardError)")
    let expected = try result.json()
    let stats = VectorStatistics.compute(values: values, dimension: dimension)
    let actual: [String: [Double]] = [
      "mean": stats.mean, "std": stats.std, "min": stats.min, "max": stats.max,
      "q01": stats.q01, "q99": stats.q99,
    ]
    for (key, numbers) in actual {
      let reference = try #require(expected[key] as? [Double])
      for (mine, theirs) in zip(numbers, reference) {
        #expect(abs(mine - theirs) <= 1e-9 * max(1, abs(theirs)), "\(key): \(mine) vs \(theirs)")
      }
    }
  }
}

@Suite struct SplitterTests {
  @Test func isDeterministicForASeedAndWholeEpisodes() {
    let first = EpisodeSplitter.validationIndices(count: 100, fraction: 0.1, seed: 3)
    #expect(first == EpisodeSplitter.validationIndices(count: 100, fraction: 0.1, seed: 3))
    #expect(first.count == 10)
    #expect(first != EpisodeSplitter.validationIndices(count: 100, fraction: 0.1, seed: 4))
  }

  @Test func keepsOneEpisodeOnEachSide() {
    #expect(EpisodeSplitter.validationIndices(count: 3, fraction: 0.01, seed: 0).count == 1)
    #expect(EpisodeSplitter.validationIndices(count: 2, fraction: 0.9, seed: 0).count == 1)
    #expect(EpisodeSplitter.validationIndices(count: 1, fraction: 0.5, seed: 0).isEmpty)
    #expect(EpisodeSplitter.validationIndices(count: 50, fraction: 0, seed: 0).isEmpty)
  }
}

@Suite struct ByteSizeTests {
  @Test(arguments: [
    ("256MB", Int64(256_000_000)), ("1GiB", Int64(1 << 30)), ("64KiB", Int64(65_536)),
    ("4096", Int64(4096)), ("1.5 GB", Int64(1_500_000_000)), ("10k", Int64(10_000)),
  ])
  func parsesSizes(_ text: String, _ bytes: Int64) {
    #expect(ByteSize.parse(text) == bytes)
  }

  @Test(arguments: ["", "MB", "-1MB", "ten", "1TB"])
  func rejectsNonSizes(_ text: String) {
    #expect(ByteSize.parse(text) == nil)
  }
}
