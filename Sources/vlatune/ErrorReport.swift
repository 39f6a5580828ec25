import Foundation
import VlatuneCore

/// Renders errors: a JSON error document on stdout with `--json`, text on stderr always.
enum ErrorReport {
  private struct Document: Encodable {
    struct Body: Encodable {
      var code: String
      var message: String
      var param: String?
      var retryAfterSeconds: Double?
      var findings: [Diagnostic]?
      var problems: [ParameterProblem]?
      var policyProblems: [PolicyProblem]?

      enum CodingKeys: String, CodingKey {
        case code, message, param, findings, problems
        case policyProblems = "policy_problems"
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
    var problems: [ParameterProblem] = []
    var policyProblems: [PolicyProblem] = []
    var text = "Error: \(error.message)\n"
    switch error {
    case .invalidDataset(_, let found): findings = found
    case .invalidParameters(let found):
      problems = found
      text = "Error: \(found.count) invalid parameter(s):\n" + found.map { "  \($0.message)\n" }.joined()
    case .invalidPolicy(let source, let found):
      policyProblems = found
      text = "Error: the policy \(source) has \(found.count) error(s):\n"
        + found.map { "  \($0)\n" }.joined()
    default: break
    }
    if let retry = error.retryAfterSeconds {
      text += "  retry after \(String(format: "%.1f", retry)) s\n"
    }
    for finding in findings.prefix(textFindingLimit) { text += "  \(finding)\n" }
    if findings.count > textFindingLimit {
      text += "  … and \(findings.count - textFindingLimit) more (use --json for all)\n"
    }
    Output.standardError(text)
    if json {
      let body = Document.Body(
        code: error.code, message: error.message, param: error.param,
        retryAfterSeconds: error.retryAfterSeconds, findings: findings.isEmpty ? nil : findings,
        problems: problems.isEmpty ? nil : problems,
        policyProblems: policyProblems.isEmpty ? nil : policyProblems)
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
