import Foundation

/// Locations the tests need: the repository, the built binary, the project's Python.
public enum TestPaths {
  /// The repository root (two levels above this file's folder).
  public static let repository: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// The `vlatune` binary built next to the test bundle.
  public static var binary: URL {
    let candidates = [
      Bundle.main.bundleURL.appendingPathComponent("vlatune"),
      Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("vlatune"),
      repository.appendingPathComponent(".build/debug/vlatune"),
    ]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
      ?? candidates[2]
  }

  /// The Python with numpy and Pillow: `$VLATUNE_TEST_PYTHON`, else the project's `.venv`.
  public static var python: String? {
    if let explicit = ProcessInfo.processInfo.environment["VLATUNE_TEST_PYTHON"],
      FileManager.default.isExecutableFile(atPath: explicit)
    {
      return explicit
    }
    let venv = repository.appendingPathComponent(".venv/bin/python").path
    return FileManager.default.isExecutableFile(atPath: venv) ? venv : nil
  }

  /// Whether the project's Python is available (tests that generate data need it; `make test`
  /// always provides it).
  public static var hasPython: Bool { python != nil }
}
