import Foundation
import VlatuneCore

/// Renders errors: a JSON error document on stdout with `--json`, text on stderr always.
enum ErrorReport {
  private struct Document: Encodable {
    struct Body: Encodable {
      var code: String
      var message: String
      var param: String?
      var retryAfterSeconds: Int?
      var findings: [Diagnostic]?

      enum CodingKeys: String, CodingKey {
        case code, message, param, findings
        case retryAfterSeconds = "retry_after_seconds"
      }
    }
    var schemaVersion = 1
    var error: Body

    enum CodingKeys: String, CodingKey {
      case error
      case schemaVersion = "schema_version"
    }
  }

  /// The most findings printed as text (all of them go into the JSON document).
  static let textFindingLimit = 50

  static func print(_ error: VlatuneError, json: Bool) {
    var findings: [Diagnostic] = []
    if case .invalidDataset(_, let found) = error { findings = found }
    var text = "Error: \(error.message)\n"
    for finding in findings.prefix(textFindingLimit) { text += "  \(finding)\n" }
    if findings.count > textFindingLimit {
      text += "  … and \(findings.count - textFindingLimit) more (use --json for all)\n"
    }
    Output.standardError(text)
    if json {
      let body = Document.Body(
        code: error.code, message: error.message, param: error.param, retryAfterSeconds: nil,
        findings: findings.isEmpty ? nil : findings)
      Output.json(Document(error: body))
    }
  }

  static func printUsage(_ message: String, json: Bool) {
    Output.standardError("Error: \(message)\n")
    if json {
      Output.json(
        Document(error: .init(code: "invalid_argument", message: message, param: nil)))
    }
  }
}
