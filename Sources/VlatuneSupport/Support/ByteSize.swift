/// Parses and prints sizes such as `256MB`, `1.5GiB`, `4096`.
public enum ByteSize {
  private static let units: [(String, Double)] = [
    ("kib", 1024), ("mib", 1024 * 1024), ("gib", 1024 * 1024 * 1024),
    ("kb", 1e3), ("mb", 1e6), ("gb", 1e9), ("k", 1e3), ("m", 1e6), ("g", 1e9), ("b", 1),
  ]

  /// Parses a size; decimal units (KB, MB, GB) are powers of 1000, binary units (KiB, MiB, GiB)
  /// powers of 1024, a bare number is bytes.
  ///
  /// - Returns: The size in bytes, or `nil` when the text is not a size.
  public static func parse(_ text: String) -> Int64? {
    let lowered = text.lowercased().trimmingWhitespace()
    for (suffix, factor) in units where lowered.hasSuffix(suffix) {
      let number = String(lowered.dropLast(suffix.count)).trimmingWhitespace()
      guard let value = Double(number), value.isFinite, value >= 0 else { return nil }
      return Int64((value * factor).rounded())
    }
    guard let value = Int64(lowered), value >= 0 else { return nil }
    return value
  }

  /// A short human form, for example `256.0 MB`.
  public static func format(_ bytes: Int64) -> String {
    let value = Double(bytes)
    if value >= 1e9 { return String(format1: value / 1e9) + " GB" }
    if value >= 1e6 { return String(format1: value / 1e6) + " MB" }
    if value >= 1e3 { return String(format1: value / 1e3) + " KB" }
    return "\(bytes) B"
  }
}

extension String {
  /// `value` with one decimal place.
  init(format1 value: Double) {
    let scaled = (value * 10).rounded() / 10
    self = scaled == scaled.rounded() ? "\(Int(scaled)).0" : "\(scaled)"
  }
}
