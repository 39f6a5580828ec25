import Foundation

/// LeRobotDatasets written by `Tests/Fixtures/make_lerobot_dataset.py` (pyarrow, pandas and the
/// ffmpeg CLI), with what a correct reader must find in them.
public enum LeRobotFixture {
  /// Whether the project's Python has pyarrow and pandas and `ffmpeg` is installed (`make test`
  /// provides them).
  public static let available: Bool = {
    guard let python = TestPaths.python,
      FileManager.default.isExecutableFile(atPath: "/usr/bin/ffmpeg")
    else { return false }
    let probe = try? ProcessRunner.run(python, ["-c", "import pyarrow, pandas"])
    return probe?.status == 0
  }()

  /// The small real datasets under `../shared/datasets`, when present.
  public static var sharedDatasets: URL? {
    let url = TestPaths.repository.deletingLastPathComponent()
      .appendingPathComponent("shared/datasets")
    return FileManager.default.fileExists(atPath: url.path) ? url : nil
  }

  /// Writes a dataset into `directory/name` with the generator's `options`; returns its root and
  /// the expectations (`--expect`), read back with pyarrow from the written files.
  public static func make(in directory: URL, name: String, _ options: [String]) throws
    -> (root: URL, expected: [String: Any])
  {
    guard let python = TestPaths.python else { throw FixtureError(message: "no Python") }
    let root = directory.appendingPathComponent(name)
    let expectation = directory.appendingPathComponent(name + ".expect.json")
    let script = TestPaths.repository.appendingPathComponent("Tests/Fixtures/make_lerobot_dataset.py")
    let result = try ProcessRunner.run(
      python, [script.path, "--out", root.path, "--expect", expectation.path] + options)
    guard result.status == 0 else {
      throw FixtureError(message: "make_lerobot_dataset.py \(options): \(result.standardError)")
    }
    let data = try Data(contentsOf: expectation)
    guard let expected = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
      throw FixtureError(message: "unreadable expectations")
    }
    return (root, expected)
  }
}

/// A fixture could not be generated.
public struct FixtureError: Error, CustomStringConvertible {
  public var message: String
  public var description: String { message }
}
