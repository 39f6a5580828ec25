import Foundation
import Testing
import VlatuneCore

/// Replays every input `make fuzz` found a crash with (Fuzz/regressions/<target>/) and the
/// committed seed corpus (Fuzz/corpus/<target>/) through the same entry points the fuzzer
/// drives. A runtime trap in a parser ends the test process, which fails the suite.
@Suite struct FuzzRegressionTests {
  static let fuzzRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fuzz")

  static func inputs(_ folder: String, _ target: FuzzTarget) -> [URL] {
    let directory = fuzzRoot.appendingPathComponent(folder).appendingPathComponent(target.rawValue)
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    return names.sorted().map { directory.appendingPathComponent($0) }
  }

  @Test(arguments: FuzzTarget.allCases)
  func seedCorpusReplaysWithoutATrap(_ target: FuzzTarget) throws {
    let seeds = Self.inputs("corpus", target)
    #expect(!seeds.isEmpty, "Fuzz/corpus/\(target.rawValue) has no seeds (Fuzz/make_seed_corpus.py writes them)")
    for seed in seeds { target.run([UInt8](try Data(contentsOf: seed))) }
  }

  @Test(arguments: FuzzTarget.allCases)
  func crashInputsReplayWithoutATrap(_ target: FuzzTarget) throws {
    for input in Self.inputs("regressions", target) { target.run([UInt8](try Data(contentsOf: input))) }
  }

  /// The first crash `make fuzz` found: a steps.jsonl whose rows are shorter than the first
  /// row's widths sent the action-leak check past the end of the states.
  @Test func theActionLeakCheckCrashIsKept() {
    #expect(Self.inputs("regressions", .episode).contains { $0.lastPathComponent == "action-leak-short-rows" })
  }
}
