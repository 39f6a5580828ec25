/// A problem with a LeRobot dataset's files, reported as invalid data (exit 65).
enum LeRobotError: Error {
  /// `file` (relative to the dataset root) is missing, unreadable or inconsistent.
  case file(String, String)

  /// The ``VlatuneError`` to report.
  var vlatuneError: VlatuneError {
    switch self {
    case .file(let path, let message):
      return .invalidDataset(
        message: "\(path) \(message)",
        findings: [Diagnostic(.error, code: "lerobot_format", message: "\(path) \(message)")])
    }
  }
}
