import Foundation
import VlatuneCore

/// Writes to stdout and stderr (stdout carries results; stderr carries logs, progress, errors).
enum Output {
  static func standardOutput(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
  }

  static func standardError(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
  }

  /// Prints a JSON document on stdout followed by a newline.
  static func json<T: Encodable>(_ value: T) {
    let text = (try? JSONOutput.string(value)) ?? "{\"error\":{\"code\":\"internal\"}}"
    standardOutput(text + "\n")
  }

  /// Prints a JSON document on one line (for streams of documents).
  static func jsonLine<T: Encodable>(_ value: T) {
    let text = (try? JSONOutput.string(value, pretty: false)) ?? "{}"
    standardOutput(text + "\n")
  }

  /// Whether stdout is a terminal.
  static var standardOutputIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

  /// Whether stderr is a terminal (progress displays only draw there).
  static var standardErrorIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }
}
