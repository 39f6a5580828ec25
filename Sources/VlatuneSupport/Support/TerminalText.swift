/// Text that came from outside — actors, reasons, archive entry names, JSON keys, trainer
/// messages — made safe to print on a terminal: control characters are written out (`\u{1B}`),
/// so nothing can move the cursor, clear a line or forge one.
public enum TerminalText {
  /// Whether `text` holds a control character (C0, DEL or C1; tab and newline included).
  public static func hasControlCharacters(_ text: String) -> Bool {
    text.unicodeScalars.contains(where: isControl)
  }

  /// `text` with every control character written as `\u{XX}`, but tabs, and newlines when
  /// `keepingNewlines`.
  public static func escaped(_ text: String, keepingNewlines: Bool = false) -> String {
    guard hasControlCharacters(text) else { return text }
    var result = ""
    for scalar in text.unicodeScalars {
      if isControl(scalar) && scalar != "\t" && !(keepingNewlines && scalar == "\n") {
        result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
      } else {
        result.unicodeScalars.append(scalar)
      }
    }
    return result
  }

  static func isControl(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
  }
}
