import Foundation

/// RFC 3339 timestamps in UTC with millisecond precision, as every document uses.
public enum Timestamp {
  /// Formats a date, for example `2026-11-24T23:19:27.123Z`.
  public static func format(_ date: Date) -> String {
    date.formatted(
      Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
  }
}

extension Timestamp {
  /// Parses a timestamp written by ``format(_:)``.
  public static func parse(_ text: String) -> Date? {
    try? Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt).parse(text)
  }
}
