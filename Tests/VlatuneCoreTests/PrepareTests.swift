import Foundation
import Testing
import VlatuneTestSupport

@testable import VlatuneArchive
@testable import VlatuneCore
@testable import VlatuneDatasets
@testable import VlatuneFormats
@testable import VlatuneGuardrails
@testable import VlatuneJobs
@testable import VlatuneStore
@testable import VlatuneSupport

@Suite(.enabled(if: TestPaths.hasPython)) struct PrepareTests {
  @Test func preparesAndRegistersACompletePackage() throws {
    let fixture = try PrepareFixture()
    let document = try fixture.prepare()
    #expect(document.episodes == 6)
    #expect(document.steps == 72)
    #expect(document.splits.train + document.splits.val == 6)
    #expect(document.splits.val == 1)
    #expect(document.actionDim == 7 && document.stateDim == 8 && document.fps == 10)
    #expect(document.cameras.map(\.key) == ["front", "wrist"])
    #expect(document.cameras.allSatisfy { $0.width == 96 && $0.height == 96 && $0.encoding == "jpeg" })
    #expect(document.stats.action.mask == [true, true, true, true, true, true, false])
    #expect(document.prepare.gripperDim == 6)
    #expect(document.shards.map(\.samples).reduce(0, +) == 72)
    #expect(try fixture.registeredCount() == 1)
    let package = URL(fileURLWithPath: document.path)
    for file in ["manifest.json", "dataset_statistics.json", "episodes.jsonl"] {
      #expect(FileIO.kind(package.appendingPathComponent(file).path) == .regular)
    }
    #expect(FileIO.size(package.appendingPathComponent("trajectories/action.f32").path) == 72 * 7 * 4)
    for shard in document.shards {
      let bytes = try FileIO.read(package.appendingPathComponent(shard.path).path)
      #expect(SHA256Hasher.hex(bytes) == shard.sha256)
    }
    #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.home.temporaryURL.path).isEmpty)
  }

  @Test func samplesKeepImageBytesUnchanged() throws {
    let fixture = try PrepareFixture()
    let document = try fixture.prepare { $0.valFraction = 0 }
    let shard = try #require(document.shards.first)
    let reader = try ArchiveReader(path: document.path + "/" + shard.path)
    var found: [UInt8]?
    while let entry = try reader.next() {
      if entry.path == "e000000_s000003.wrist.jpg" {
        found = try reader.readAll(limit: 1 << 20)
      } else {
        try reader.skip()
      }
    }
    let original = try FileIO.read(fixture.episode("episode_000").path + "/wrist/000003.jpg")
    #expect(found == original)
  }

  @Test func splitIsDeterministicAndSeedDependent() throws {
    let fixture = try PrepareFixture(episodes: 20)
    let first = try fixture.prepare {
      $0.name = "a"
      $0.valFraction = 0.25
    }
    let second = try fixture.prepare {
      $0.name = "b"
      $0.valFraction = 0.25
    }
    let third = try fixture.prepare {
      $0.name = "c"
      $0.valFraction = 0.25
      $0.seed = 99
    }
    #expect(first.splits.val == 5)
    #expect(first.shards.map(\.sha256) == second.shards.map(\.sha256))
    #expect(first.source.fingerprint == third.source.fingerprint)
    #expect(first.fingerprint != third.fingerprint)
  }

  @Test func smallShardSizeRollsOver() throws {
    let fixture = try PrepareFixture()
    let document = try fixture.prepare {
      $0.shardSizeBytes = 20_000
      $0.valFraction = 0
    }
    #expect(document.shards.count > 3)
    #expect(document.shards.allSatisfy { $0.split == "train" && $0.samples >= 1 })
    #expect(document.shards.map(\.samples).reduce(0, +) == 72)
  }

  @Test func interruptionMidWriteLeavesNothing() throws {
    let fixture = try PrepareFixture()
    let token = CancellationToken()
    #expect(throws: VlatuneError.interrupted(signal: 15)) {
      try fixture.prepare(
        cancellation: token,
        progress: { progress in
          if progress.phase == "write" && progress.episodesDone == 2 { token.cancel(signal: 15) }
        })
    }
    #expect(try fixture.registeredCount() == 0)
    #expect(try fixture.leftovers().isEmpty)
  }

  @Test func sweepsLeftoversOfDeadProcesses() throws {
    let fixture = try PrepareFixture()
    let stale = fixture.home.temporaryURL.appendingPathComponent("prepare-999999999-ds_x")
    try FileManager.default.createDirectory(at: stale, withIntermediateDirectories: true)
    _ = try fixture.prepare()
    #expect(FileIO.kind(stale.path) == .missing)
  }

  @Test func existingNameNeedsOverwrite() throws {
    let fixture = try PrepareFixture()
    let first = try fixture.prepare()
    #expect(throws: VlatuneError.self) { try fixture.prepare() }
    let second = try fixture.prepare { $0.overwrite = true }
    #expect(second.id != first.id)
    #expect(try fixture.registeredCount() == 1)
    #expect(FileIO.kind(first.path) == .missing)
    #expect(FileIO.kind(second.path) == .directory)
  }

  @Test func archiveSourcesGiveTheSameContentFingerprint() throws {
    let fixture = try PrepareFixture()
    let fromDirectory = try fixture.prepare { $0.name = "dir" }
    for (suffix, flags) in [("tar.gz", "czf"), ("tar", "cf"), ("tar.zst", "--zstd -cf")] {
      let archive = fixture.directory.appending("sample.\(suffix)").path
      let tar = try ProcessRunner.run(
        "/bin/sh", ["-c", "cd '\(fixture.directory.path)' && tar \(flags) '\(archive)' pick-blocks"])
      #expect(tar.status == 0, "\(tar.standardError)")
      let fromArchive = try fixture.prepare {
        $0.source = archive
        $0.name = "archive-\(suffix.replacingOccurrences(of: ".", with: "-"))"
      }
      #expect(fromArchive.source.fingerprint == fromDirectory.source.fingerprint)
      #expect(fromArchive.stats == fromDirectory.stats)
      #expect(fromArchive.steps == fromDirectory.steps)
    }
  }

  @Test func zipSourceIsRead() throws {
    let fixture = try PrepareFixture()
    let archive = fixture.directory.appending("sample.zip").path
    let script = """
      import os, sys, zipfile
      root = sys.argv[1]
      with zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED) as z:
          for folder, _, files in os.walk(root):
              for name in files:
                  path = os.path.join(folder, name)
                  z.write(path, os.path.relpath(path, root))
      """
    let zip = try ProcessRunner.run(TestPaths.python!, ["-c", script, fixture.source.path, archive])
    #expect(zip.status == 0, "\(zip.standardError)")
    let document = try fixture.prepare { $0.source = archive }
    #expect(document.episodes == 6)
    #expect(document.steps == 72)
  }
}
