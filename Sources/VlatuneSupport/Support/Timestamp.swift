import Foundation

/// RFC 3339 timestamps in UTC with millisecond precision, as every document uses.
public enum Timestamp {
  /// Formats a date, for example `2026-11-24T23:19:27.123Z` (milliseconds truncated, as
  /// `Date.ISO8601FormatStyle` writes them).
  ///
  /// With `gmtime_r` rather than `ISO8601FormatStyle`, whose first use in a process is slow
  /// (ICU calendar set-up): every audited command formats one timestamp, `job status` included.
  public static func format(_ date: Date) -> String {
    let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    var seconds = time_t((milliseconds - ((milliseconds % 1000) + 1000) % 1000) / 1000)
    let fraction = Int(((milliseconds % 1000) + 1000) % 1000)
    var parts = tm()
    gmtime_r(&seconds, &parts)
    func padded(_ value: Int, _ width: Int) -> String {
      let digits = String(value)
      return String(repeating: "0", count: max(width - digits.count, 0)) + digits
    }
    return padded(Int(parts.tm_year) + 1900, 4) + "-" + padded(Int(parts.tm_mon) + 1, 2) + "-"
      + padded(Int(parts.tm_mday), 2) + "T" + padded(Int(parts.tm_hour), 2) + ":"
      + padded(Int(parts.tm_min), 2) + ":" + padded(Int(parts.tm_sec), 2) + "." + padded(fraction, 3) + "Z"
  }
}

extension Timestamp {
  /// Milliseconds since 1970, rounded: the unit of rate-limit windows and row times.
  package static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

  /// Parses a timestamp written by ``format(_:)``.
  public static func parse(_ text: String) -> Date? {
    try? Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt).parse(text)
  }
}
