import VlatuneSupport

/// A file of a LeRobot or RLDS source is missing, unreadable or inconsistent; reported as
/// invalid data (exit 65) naming the file (relative to the source) and what is wrong with it.
package enum SourceFileError: Error {
  /// `file` `message` ("meta/info.json is missing; …").
  case file(String, String)

  /// The ``VlatuneError`` to report.
  package var vlatuneError: VlatuneError {
    switch self {
    case .file(let path, let message):
      return .invalidDataset(
        message: "\(path) \(message)",
        findings: [Diagnostic(.error, code: "invalid_source_file", message: "\(path) \(message)")])
    }
  }
}
