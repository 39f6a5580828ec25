import Foundation
import GRDB
import VlatuneTestSupport

@testable import VlatuneArchive
@testable import VlatuneCore
@testable import VlatuneDatasets
@testable import VlatuneFormats
@testable import VlatuneGuardrails
@testable import VlatuneJobs
@testable import VlatuneStore
@testable import VlatuneSupport

/// A temporary state directory plus a fresh copy of the sample dataset to break in one way.
final class PrepareFixture {
  let directory = TemporaryDirectory("vlatune-prepare")
  let home: VlatuneHome
  let store: Store
  let source: URL

  init(episodes: Int = 6, steps: Int = 12) throws {
    home = VlatuneHome(root: directory.appending("home"))
    try home.prepare()
    store = try Store(path: home.databaseURL.path)
    source = try SampleData.copy(into: directory.url, episodes: episodes, steps: steps)
  }

  var preparer: DatasetPreparer { DatasetPreparer(home: home, store: store, users: UnfinishedJobs()) }

  func prepare(_ configure: (inout PrepareRequest) -> Void = { _ in }) throws -> DatasetDocument {
    var request = PrepareRequest(source: source.path)
    request.name = "sample"
    configure(&request)
    return try preparer.prepare(request)
  }

  func prepare(
    cancellation: CancellationToken, progress: @escaping @Sendable (PrepareProgress) -> Void
  ) throws -> DatasetDocument {
    var request = PrepareRequest(source: source.path)
    request.name = "sample"
    return try preparer.prepare(request, cancellation: cancellation, progress: progress)
  }

  func episode(_ name: String) -> URL { source.appendingPathComponent(name) }

  /// Rewrites one step line of an episode (a JSON object); `NaN`/`Infinity` can be written by
  /// storing the sentinels ``nanSentinel`` / ``infinitySentinel``.
  func rewriteSteps(_ episode: String, _ change: (Int, inout [String: Any]) -> Void) throws {
    let url = self.episode(episode).appendingPathComponent("steps.jsonl")
    let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
    var output: [String] = []
    for (index, line) in lines.enumerated() {
      var object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
      change(index, &object)
      output.append(
        String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
    }
    let text = output.joined(separator: "\n")
      .replacingOccurrences(of: "987654.25", with: "NaN")
      .replacingOccurrences(of: "876543.5", with: "Infinity")
    try (text + "\n").write(to: url, atomically: true, encoding: .utf8)
  }

  static let nanSentinel = 987654.25
  static let infinitySentinel = 876543.5

  func registeredCount() throws -> Int {
    try store.read { try DatasetRecord.fetchCount($0) }
  }

  func leftovers() throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: home.temporaryURL.path)
      + FileManager.default.contentsOfDirectory(atPath: home.datasetsURL.path)
  }
}
