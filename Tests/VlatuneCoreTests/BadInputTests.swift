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

/// One way to break the sample dataset, and the finding it must produce.
struct BadInput: Sendable, CustomTestStringConvertible {
  var name: String
  var code: String
  var episode: String?
  var step: Int?
  var field: String?
  var breakIt: @Sendable (PrepareFixture) throws -> Void

  var testDescription: String { name }
}

@Suite(.enabled(if: TestPaths.hasPython)) struct BadInputTests {
  static let cases: [BadInput] = [
    BadInput(
      name: "NaN in an action", code: "nan_value", episode: "episode_001", step: 3,
      field: "action[2]"
    ) { fixture in
      try fixture.rewriteSteps("episode_001") { step, object in
        if step == 3 {
          var action = object["action"] as! [Double]
          action[2] = PrepareFixture.nanSentinel
          object["action"] = action
        }
      }
    },
    BadInput(
      name: "Infinity in a state", code: "inf_value", episode: "episode_002", step: 4,
      field: "state[1]"
    ) { fixture in
      try fixture.rewriteSteps("episode_002") { step, object in
        if step == 4 {
          var state = object["state"] as! [Double]
          state[1] = PrepareFixture.infinitySentinel
          object["state"] = state
        }
      }
    },
    BadInput(
      name: "dimension changes between steps", code: "dim_mismatch", episode: "episode_000",
      step: 5, field: "action"
    ) { fixture in
      try fixture.rewriteSteps("episode_000") { step, object in
        if step == 5 { object["action"] = (object["action"] as! [Double]) + [0.5] }
      }
    },
    BadInput(
      name: "dimension differs between episodes", code: "dim_mismatch", episode: "episode_003",
      step: 0, field: "state"
    ) { fixture in
      try fixture.rewriteSteps("episode_003") { _, object in
        object["state"] = Array((object["state"] as! [Double]).dropLast())
      }
    },
    BadInput(
      name: "missing image", code: "missing_image", episode: "episode_004", step: 7,
      field: "images.front"
    ) { fixture in
      try FileManager.default.removeItem(
        at: fixture.episode("episode_004").appendingPathComponent("front/000007.jpg"))
    },
    BadInput(
      name: "truncated image", code: "bad_image", episode: "episode_001", step: 2,
      field: "images.wrist"
    ) { fixture in
      let path = fixture.episode("episode_001").appendingPathComponent("wrist/000002.jpg").path
      let bytes = try FileIO.read(path)
      try FileIO.write(Array(bytes.prefix(bytes.count / 2)), to: path)
    },
    BadInput(
      name: "undecodable image header", code: "undecodable_image", episode: "episode_002",
      step: 0, field: "images.front"
    ) { fixture in
      try FileIO.write(
        "this is not an image at all",
        to: fixture.episode("episode_002").appendingPathComponent("front/000000.jpg").path)
    },
    BadInput(
      name: "image size differs within a camera", code: "image_size_mismatch",
      episode: "episode_003", step: 4, field: "images.front"
    ) { fixture in
      let other = try SampleData.copy(
        into: fixture.directory.url, name: "small", episodes: 1, steps: 10,
        extra: ["--image-size", "64"])
      let target = fixture.episode("episode_003").appendingPathComponent("front/000004.jpg")
      try FileManager.default.removeItem(at: target)
      try FileManager.default.copyItem(
        at: other.appendingPathComponent("episode_000/front/000004.jpg"), to: target)
    },
    BadInput(
      name: "timestamps go backwards", code: "timestamp_not_increasing", episode: "episode_000",
      step: 6, field: "timestamp"
    ) { fixture in
      try fixture.rewriteSteps("episode_000") { step, object in
        if step == 6 { object["timestamp"] = 0.3 }
      }
    },
    BadInput(
      name: "timestamp off the fps grid", code: "timestamp_off_grid", episode: "episode_005",
      step: 3, field: "timestamp"
    ) { fixture in
      try fixture.rewriteSteps("episode_005") { step, object in
        if step == 3 { object["timestamp"] = 0.35 }
      }
    },
    BadInput(name: "empty episode", code: "empty_episode", episode: "episode_002") { fixture in
      try FileIO.write("", to: fixture.episode("episode_002").appendingPathComponent("steps.jsonl").path)
    },
    BadInput(name: "one-step episode", code: "one_step_episode", episode: "episode_002") {
      fixture in
      let url = fixture.episode("episode_002").appendingPathComponent("steps.jsonl")
      let first = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")[0]
      try FileIO.write(first + "\n", to: url.path)
    },
    BadInput(
      name: "missing instruction", code: "missing_instruction", episode: "episode_004",
      field: "meta.json:instruction"
    ) { fixture in
      try FileIO.write(
        #"{"fps": 10, "cameras": ["front", "wrist"]}"#,
        to: fixture.episode("episode_004").appendingPathComponent("meta.json").path)
    },
    BadInput(
      name: "image path escapes the episode", code: "unsafe_path", episode: "episode_001",
      step: 1, field: "images.front"
    ) { fixture in
      try fixture.rewriteSteps("episode_001") { step, object in
        if step == 1 { object["images"] = ["front": "../episode_000/front/000001.jpg", "wrist": "wrist/000001.jpg"] }
      }
    },
    BadInput(
      name: "steps line is not JSON", code: "invalid_json", episode: "episode_000", step: 12,
      field: "steps.jsonl:13"
    ) { fixture in
      let handle = try FileHandle(
        forWritingTo: fixture.episode("episode_000").appendingPathComponent("steps.jsonl"))
      try handle.seekToEnd()
      try handle.write(contentsOf: Data("{\"action\": [1, 2,\n".utf8))
      try handle.close()
    },
    BadInput(
      name: "an action of 1.797e308 (its statistics would be infinite)", code: "value_out_of_range",
      episode: "episode_003", step: 2, field: "action[0]"
    ) { fixture in
      try fixture.rewriteSteps("episode_003") { step, object in
        if step == 2 {
          var action = object["action"] as! [Double]
          action[0] = -1.797e308
          object["action"] = action
        }
      }
    },
    BadInput(
      name: "one step with 10⁶ action values (every step was padded to it)", code: "dim_too_large",
      episode: "episode_004", step: 0, field: "action"
    ) { fixture in
      try fixture.rewriteSteps("episode_004") { step, object in
        if step == 0 { object["action"] = [Double](repeating: 0.25, count: 1_000_000) }
      }
    },
    BadInput(
      name: "steps.jsonl starting with a UTF-8 BOM (was a runtime trap)", code: "invalid_json",
      episode: "episode_001", step: 0, field: "steps.jsonl:1"
    ) { fixture in
      let url = fixture.episode("episode_001").appendingPathComponent("steps.jsonl")
      try FileIO.write([0xEF, 0xBB, 0xBF] + (try FileIO.read(url.path)), to: url.path)
    },
    BadInput(
      name: "steps.jsonl that is not JSON lines at all (was a runtime trap)", code: "invalid_json",
      episode: "episode_002", step: 0, field: "steps.jsonl:1"
    ) { fixture in
      try FileIO.write(
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n",
        to: fixture.episode("episode_002").appendingPathComponent("steps.jsonl").path)
    },
  ]

  @Test(arguments: cases)
  func isRefusedWithItsLocation(_ input: BadInput) throws {
    let fixture = try PrepareFixture()
    try input.breakIt(fixture)
    var findings: [Diagnostic] = []
    do {
      _ = try fixture.prepare()
      Issue.record("prepare succeeded on bad input '\(input.name)'")
    } catch VlatuneError.invalidDataset(_, let found) {
      findings = found
    }
    let finding = try #require(findings.first { $0.code == input.code }, "\(findings)")
    #expect(finding.severity == .error)
    #expect(finding.episode == input.episode)
    #expect(finding.step == input.step)
    #expect(finding.field == input.field)
    #expect(try fixture.registeredCount() == 0)
    #expect(try fixture.leftovers().isEmpty)
  }

  @Test func reportsEveryProblemAtOnce() throws {
    let fixture = try PrepareFixture()
    for input in Self.cases where ["nan_value", "missing_instruction", "timestamp_off_grid"].contains(input.code) {
      try input.breakIt(fixture)
    }
    do {
      _ = try fixture.prepare()
      Issue.record("prepare succeeded")
    } catch VlatuneError.invalidDataset(_, let findings) {
      #expect(Set(findings.map(\.code)).isSuperset(of: ["nan_value", "missing_instruction", "timestamp_off_grid"]))
    }
  }

  @Test func missingSourceIsNotFound() throws {
    let fixture = try PrepareFixture()
    #expect {
      try fixture.prepare { $0.source = "/nonexistent/vlatune/source" }
    } throws: { error in
      (error as? VlatuneError)?.exitStatus == 66
    }
  }

  @Test func unsupportedArchiveIsAnInvalidArgument() throws {
    let fixture = try PrepareFixture()
    let path = fixture.directory.appending("dataset.rar").path
    try FileIO.write(Array(repeating: 0x52, count: 2048), to: path)
    #expect {
      try fixture.prepare { $0.source = path }
    } throws: { error in
      (error as? VlatuneError)?.exitStatus == 64 && "\(error)".contains("not a supported archive")
    }
  }

  @Test func corruptCompressedArchiveIsInvalidData() throws {
    let fixture = try PrepareFixture()
    let path = fixture.directory.appending("dataset.tar.gz").path
    try FileIO.write([0x1F, 0x8B, 0x08, 0x00] + Array(repeating: 0xAA, count: 4096), to: path)
    #expect {
      try fixture.prepare { $0.source = path }
    } throws: { error in
      (error as? VlatuneError)?.exitStatus == 65
    }
  }

  @Test func invalidSettingsAreAllReported() throws {
    var request = PrepareRequest(source: "/x")
    request.valFraction = 1.5
    request.shardSizeBytes = 10
    request.name = "bad name!"
    #expect {
      try request.validate()
    } throws: { error in
      let text = "\(error)"
      return (error as? VlatuneError)?.exitStatus == 64 && text.contains("--val-fraction")
        && text.contains("--shard-size") && text.contains("--name")
    }
  }

  @Test func gripperIndexOutOfRangeIsRefused() throws {
    let fixture = try PrepareFixture()
    #expect {
      try fixture.prepare { $0.gripperDim = .index(7) }
    } throws: { error in
      (error as? VlatuneError)?.param == "--gripper-dim"
    }
  }
}

@Suite(.enabled(if: TestPaths.hasPython)) struct WarningTests {
  @Test func unknownMetaKeysAreWarnings() throws {
    let fixture = try PrepareFixture()
    try FileIO.write(
      #"{"instruction": "pick up the red block", "fps": 10, "cameras": ["front", "wrist"], "operator": "ana"}"#,
      to: fixture.episode("episode_001").appendingPathComponent("meta.json").path)
    let document = try fixture.prepare()
    let warning = try #require(document.warnings.first { $0.code == "unknown_key" })
    #expect(warning.episode == "episode_001")
    #expect(warning.field == "meta.json:operator")
  }

  @Test func duplicateEpisodesAreFlagged() throws {
    let fixture = try PrepareFixture()
    try FileManager.default.copyItem(
      at: fixture.episode("episode_000"), to: fixture.episode("episode_009"))
    let document = try fixture.prepare()
    let warning = try #require(document.warnings.first { $0.code == "duplicate_episode" })
    #expect(warning.episode == "episode_009")
    #expect(warning.message.contains("episode_000"))
  }

  @Test func constantDimensionsAreMaskedAndFlagged() throws {
    let fixture = try PrepareFixture()
    for index in 0..<6 {
      try fixture.rewriteSteps(String(format: "episode_%03d", index)) { _, object in
        var action = object["action"] as! [Double]
        action[3] = 0.5
        object["action"] = action
      }
    }
    let document = try fixture.prepare()
    #expect(document.stats.action.mask?[3] == false)
    #expect(document.warnings.contains { $0.code == "constant_dimension" && $0.field == "action[3]" })
  }

  @Test func explicitGripperNoneNormalizesTheLastDimension() throws {
    let fixture = try PrepareFixture()
    let document = try fixture.prepare { $0.gripperDim = GripperDimension.none }
    #expect(document.stats.action.mask?[6] == true)
    #expect(document.prepare.gripperDim == nil)
  }
}

@Suite(.enabled(if: TestPaths.hasPython)) struct UnsafeArchiveTests {
  static let kinds = ["dotdot", "absolute", "symlink", "device", "hardlink"]

  @Test(arguments: kinds)
  func refusesUnsafeEntries(_ kind: String) throws {
    let fixture = try PrepareFixture()
    let archive = fixture.directory.appending("evil-\(kind).tar").path
    let marker = fixture.directory.appending("escaped-\(kind)").path
    let script = """
      import io, sys, tarfile
      source, archive, kind, marker = sys.argv[1:5]
      with tarfile.open(archive, "w") as tar:
          tar.add(source, arcname="pick-blocks")
          info = tarfile.TarInfo()
          data = b"escaped"
          if kind == "dotdot":
              info.name = "pick-blocks/../../escaped"
          elif kind == "absolute":
              info.name = marker
          elif kind == "symlink":
              info.name, info.type, info.linkname = "pick-blocks/episode_000/link", tarfile.SYMTYPE, "/etc/passwd"
              data = b""
          elif kind == "hardlink":
              info.name, info.type, info.linkname = "pick-blocks/episode_000/hard", tarfile.LNKTYPE, "pick-blocks/episode_000/meta.json"
              data = b""
          else:
              info.name, info.type, info.devmajor, info.devminor = "pick-blocks/dev", tarfile.CHRTYPE, 1, 3
              data = b""
          info.size = len(data)
          tar.addfile(info, io.BytesIO(data))
      """
    let made = try ProcessRunner.run(
      TestPaths.python!, ["-c", script, fixture.source.path, archive, kind, marker])
    #expect(made.status == 0, "\(made.standardError)")
    do {
      _ = try fixture.prepare { $0.source = archive }
      Issue.record("prepare accepted an archive with a \(kind) entry")
    } catch VlatuneError.invalidDataset(_, let findings) {
      #expect(findings.contains { $0.code == "unsafe_entry" }, "\(findings)")
    }
    #expect(FileIO.kind(marker) == .missing)
    #expect(try fixture.registeredCount() == 0)
    #expect(try fixture.leftovers().isEmpty)
  }

  /// Blank lines compress to nothing: the metadata an archive's scan holds has one budget for
  /// all episodes, checked while each entry streams.
  @Test func metadataPaddedWithBlankLinesHitsTheBudget() throws {
    let fixture = try PrepareFixture()
    let archive = fixture.directory.appending("blank-lines.tar.gz").path
    let script = """
      import io, os, sys, tarfile
      source, archive = sys.argv[1:3]
      with tarfile.open(archive, "w:gz") as tar:
          for episode in sorted(os.listdir(source)):
              for name in ("meta.json", "steps.jsonl"):
                  data = open(os.path.join(source, episode, name), "rb").read()
                  if name == "steps.jsonl":
                      data += b"\\n" * (1 << 20)
                  info = tarfile.TarInfo(f"{episode}/{name}")
                  info.size = len(data)
                  tar.addfile(info, io.BytesIO(data))
      """
    let made = try ProcessRunner.run(TestPaths.python!, ["-c", script, fixture.source.path, archive])
    #expect(made.status == 0, "\(made.standardError)")
    var source = ArchiveSource(path: archive)
    source.metadataBudget = 4 << 20
    do {
      _ = try source.scan(cancellation: CancellationToken())
      Issue.record("the scan held more than its budget")
    } catch VlatuneError.invalidDataset(let message, let findings) {
      #expect(findings.first?.code == "metadata_too_large")
      #expect(message.contains("steps.jsonl; split the dataset"), "\(message)")
    }
    // Under the default budget the same archive scans.
    let episodes = try FileManager.default.contentsOfDirectory(atPath: fixture.source.path).count
    #expect(try ArchiveSource(path: archive).scan(cancellation: CancellationToken()).episodes.count == episodes)
  }

  /// Two episode folders whose names differ only in bytes that are not UTF-8 were merged (one
  /// episode's actions with the other's images); a second `meta.json` silently won.
  @Test(arguments: [
    ("non-UTF-8 names", "unsafe_entry", "not UTF-8"), ("a duplicate entry", "duplicate_entry", "more than once"),
  ])
  func refusesAmbiguousNames(_ kind: String, _ code: String, _ fragment: String) throws {
    let fixture = try PrepareFixture()
    let archive = fixture.directory.appending("ambiguous.tar").path
    let script = """
      import io, os, sys, tarfile
      source, archive, kind = sys.argv[1:4]
      with tarfile.open(archive, "w", encoding="utf-8", errors="surrogateescape") as tar:
          for episode in sorted(os.listdir(source))[:2]:
              tar.add(os.path.join(source, episode), arcname=episode)
          if kind.startswith("non"):
              for raw in (b"ep\\xff", b"ep\\xfe"):
                  name = raw.decode("utf-8", "surrogateescape")
                  tar.add(os.path.join(source, "episode_000"), arcname=name)
          else:
              data = b'{"fps": 10, "cameras": ["front", "wrist"], "instruction": "other"}'
              info = tarfile.TarInfo("episode_000/meta.json")
              info.size = len(data)
              tar.addfile(info, io.BytesIO(data))
      """
    let made = try ProcessRunner.run(TestPaths.python!, ["-c", script, fixture.source.path, archive, kind])
    #expect(made.status == 0, "\(made.standardError)")
    do {
      _ = try fixture.prepare { $0.source = archive }
      Issue.record("prepare accepted an archive with \(kind)")
    } catch VlatuneError.invalidDataset(_, let findings) {
      let finding = findings.first { $0.code == code }
      #expect(finding?.message.contains(fragment) == true, "\(findings)")
      if kind.hasPrefix("non") { #expect(finding?.field?.contains("\\xF") == true, "\(findings)") }
    }
    #expect(try fixture.registeredCount() == 0)
  }
}
