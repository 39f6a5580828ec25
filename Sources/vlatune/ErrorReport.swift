import Foundation
import VlatuneCore

/// Renders errors: a JSON error document on stdout with `--json`, text on stderr always.
enum ErrorReport {
  /// The most findings printed as text (all of them go into the JSON document).
  static let textFindingLimit = 50

  /// Error text carries values from outside (names, keys, entry names, actors): control
  /// characters are written out, and a message's own line breaks are indented, so that no value
  /// can draw on the terminal or forge a line.
  static func print(_ error: VlatuneError, json: Bool) {
    let safe = { (text: String) in TerminalText.escaped(text) }
    var text =
      "Error: "
      + TerminalText.escaped(error.message, keepingNewlines: true).replacingOccurrences(of: "\n", with: "\n  ")
      + "\n"
    switch error {
    case .invalidDataset(_, let findings):
      for finding in findings.prefix(textFindingLimit) { text += "  \(safe("\(finding)"))\n" }
      if findings.count > textFindingLimit {
        text += "  … and \(findings.count - textFindingLimit) more (use --json for all)\n"
      }
    case .invalidParameters(let problems):
      text = "Error: \(problems.count) invalid parameter(s):\n" + problems.map { "  \(safe($0.message))\n" }.joined()
    case .invalidPolicy(let source, let problems):
      text =
        "Error: the policy \(safe(source)) has \(problems.count) error(s):\n"
        + problems.map { "  \(safe("\($0)"))\n" }.joined()
    default:
      break
    }
    if let retry = error.retryAfterSeconds {
      text += "  retry after \(String(format: "%.1f", retry)) s\n"
    }
    Output.standardError(text)
    if json { Output.json(ErrorDocument(error)) }
  }

  static func printUsage(_ message: String, json: Bool) {
    Output.standardError("Error: \(TerminalText.escaped(message, keepingNewlines: true))\n")
    if json { Output.json(ErrorDocument(usage: message)) }
  }
}
