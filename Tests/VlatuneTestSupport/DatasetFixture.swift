import Foundation

/// Datasets in other tools' formats written by the generators in `Tests/Fixtures/`
/// (`make_lerobot_dataset.py`: pyarrow, pandas, ffmpeg; `make_rlds_dataset.py`: protobuf;
/// `make_hdf5_dataset.py`: h5py), with what a correct reader must find in them.
public enum DatasetFixture {
  /// Whether the project's Python has pyarrow, pandas, protobuf and h5py and `ffmpeg` is
  /// installed (`make test` provides them).
  public static let available: Bool = {
    guard let python = TestPaths.python,
      FileManager.default.isExecutableFile(atPath: "/usr/bin/ffmpeg")
    else { return false }
    let probe = try? ProcessRunner.run(python, ["-c", "import pyarrow, pandas, h5py, google.protobuf"])
    return probe?.status == 0
  }()

  /// The small real datasets under `../shared/datasets`, when present.
  public static var sharedDatasets: URL? {
    let url = TestPaths.repository.deletingLastPathComponent()
      .appendingPathComponent("shared/datasets")
    return FileManager.default.fileExists(atPath: url.path) ? url : nil
  }

  /// Writes a dataset into `directory/name` with a generator (`lerobot`, `rlds`, `hdf5`) and its
  /// `options`; returns its root and the expectations (`--expect`), read back from the written
  /// files with the generator's independent reader (pyarrow, protobuf, h5py).
  public static func make(
    _ generator: String = "lerobot", in directory: URL, name: String, _ options: [String]
  ) throws -> (root: URL, expected: [String: Any]) {
    guard let python = TestPaths.python else { throw FixtureError(message: "no Python") }
    let root = directory.appendingPathComponent(name)
    let expectation = directory.appendingPathComponent(name + ".expect.json")
    let script = TestPaths.repository.appendingPathComponent(
      "Tests/Fixtures/make_\(generator)_dataset.py")
    let result = try ProcessRunner.run(
      python, [script.path, "--out", root.path, "--expect", expectation.path] + options)
    guard result.status == 0 else {
      throw FixtureError(message: "make_\(generator)_dataset.py \(options): \(result.standardError)")
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
