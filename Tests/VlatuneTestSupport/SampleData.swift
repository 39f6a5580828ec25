import Foundation
import Synchronization

/// The example dataset generated once per test process by `examples/make_sample_dataset.py`,
/// copied for each test that needs to modify it.
public enum SampleData {
  private static let cache = Mutex<[String: URL]>([:])
  private static let root = FileManager.default.temporaryDirectory
    .appendingPathComponent("vlatune-sample-\(getpid())")

  /// Generates (once) an `episodes` dataset and returns a fresh copy inside `directory`.
  ///
  /// - Parameters:
  ///   - directory: Where the copy goes (as `<directory>/<name>`).
  ///   - name: The copy's folder name.
  ///   - episodes: Number of episodes.
  ///   - steps: Steps per episode.
  ///   - extra: More generator arguments.
  public static func copy(
    into directory: URL, name: String = "pick-blocks", episodes: Int = 6, steps: Int = 12,
    extra: [String] = []
  ) throws -> URL {
    let key = "\(episodes)-\(steps)-\(extra.joined(separator: " "))"
    let source = try cache.withLock { cache -> URL in
      if let cached = cache[key] { return cached }
      guard let python = TestPaths.python else { throw TimeoutError(what: "a Python") }
      let output = root.appendingPathComponent("set-\(cache.count)")
      let script = TestPaths.repository.appendingPathComponent("examples/make_sample_dataset.py")
      let result = try ProcessRunner.run(
        python,
        [script.path, "--out", output.path, "--episodes", "\(episodes)", "--steps", "\(steps)"]
          + extra)
      guard result.status == 0 else {
        throw GeneratorError(message: result.standardError)
      }
      cache[key] = output
      return output
    }
    let destination = directory.appendingPathComponent(name)
    try FileManager.default.copyItem(at: source, to: destination)
    return destination
  }

  /// The generator failed.
  public struct GeneratorError: Error, CustomStringConvertible {
    /// Its stderr.
    public var message: String
    /// Wraps a generator's stderr.
    public init(message: String) { self.message = message }
    /// A readable message.
    public var description: String { "sample generator failed: \(message)" }
  }
}
