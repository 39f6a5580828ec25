import Foundation
import VlatuneStore
import VlatuneSupport

/// Measures the limiter's admission decision (check + record in one `BEGIN IMMEDIATE`
/// transaction on a WAL file database), for `make bench`.
public enum LimiterBenchmark {
  /// Runs `iterations` decisions against a fresh database at `path`.
  ///
  /// - Returns: Median and 95th percentile latency in microseconds.
  public static func run(iterations: Int, path: String) throws -> (median: Double, p95: Double) {
    let store = try Store(path: path)
    let limiter = SlidingWindowLimiter(
      scope: "bench", limit: .init(max: max(iterations, 1) + 1, window: 3600))
    var samples: [Double] = []
    samples.reserveCapacity(iterations)
    for index in 0..<iterations {
      let start = DispatchTime.now().uptimeNanoseconds
      try store.write { database in
        let decision = try limiter.check(database, now: Int64(index))
        if decision.allowed {
          try limiter.record(database, at: decision.effectiveNow, reference: "bench")
        }
      }
      samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1000)
    }
    samples.sort()
    guard !samples.isEmpty else { return (0, 0) }
    return (samples[samples.count / 2], samples[min(samples.count - 1, samples.count * 95 / 100)])
  }
}
