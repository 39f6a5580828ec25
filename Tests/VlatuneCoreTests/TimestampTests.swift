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

/// `Timestamp.format` writes what `Date.ISO8601FormatStyle` wrote, without its start-up cost —
/// but for whole milliseconds whose binary fraction falls just below them (`….2` stored as
/// `….1999…`), which the style floors to the millisecond before and this writes as given.
@Suite struct TimestampTests {
  @Test func formatsAsTheISO8601StyleDid() throws {
    let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)
    var generator = SeededGenerator(seed: 7)
    var dates = [0, 0.9999, 0.0005, 1.2345, -0.5, -86_400.25, 951_782_400.5, 1_800_000_000.1236, 4_102_444_799.999]
      .map { Date(timeIntervalSince1970: $0) }
    // Whole milliseconds over 1970–2100 (Foundation's own rounding of sub-millisecond binary
    // fractions is not a contract; whole milliseconds are exact in both).
    for _ in 0..<2000 {
      dates.append(
        Date(timeIntervalSince1970: Double(Int64.random(in: 0...4_102_444_799_999, using: &generator)) / 1000))
    }
    for date in dates {
      let text = Timestamp.format(date)
      let foundation = date.formatted(style)
      let parsed = try #require(Timestamp.parse(text))
      let theirs = try #require(Timestamp.parse(foundation))
      #expect(text.count == 24 && text.hasSuffix("Z"))
      #expect(text == foundation || abs(parsed.timeIntervalSince(theirs) - 0.001) < 1e-6, "\(text) vs \(foundation)")
      #expect(abs(parsed.timeIntervalSince(date)) < 0.0011)  // the parse floors too
    }
  }
}
