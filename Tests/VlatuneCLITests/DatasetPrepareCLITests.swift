import Foundation
import Testing
import VlatuneTestSupport

@Suite(.enabled(if: TestPaths.hasPython), .serialized)
struct DatasetPrepareCLITests {
  let directory = TemporaryDirectory("vlatune-cli")
  var vlatune: VlatuneRunner { VlatuneRunner(home: directory.appending("home")) }

  @Test func jsonDocumentChecksumsAndStatisticsMatchIndependentTools() throws {
    let source = try SampleData.copy(into: directory.url, episodes: 8, steps: 15)
    let result = try vlatune.run(["dataset", "prepare", source.path, "--name", "blocks", "--json"])
    #expect(result.status == 0, "\(result.standardError)")
    let document = try result.json()
    #expect(document["schema_version"] as? Int == 1)
    #expect(document["name"] as? String == "blocks")
    #expect(document["episodes"] as? Int == 8)
    #expect(document["steps"] as? Int == 120)
    let package = try #require(document["path"] as? String)
    let shards = try #require(document["shards"] as? [[String: Any]])
    #expect(!shards.isEmpty)

    // sha256sum agrees with the manifest.
    for shard in shards {
      let path = package + "/" + (shard["path"] as! String)
      let sum = try ProcessRunner.run("/usr/bin/sha256sum", [path])
      #expect(sum.standardOutput.split(separator: " ").first.map(String.init) == shard["sha256"] as? String)
    }

    // numpy on the raw steps agrees with dataset_statistics.json to 1e-6 relative, and Python's
    // tarfile reads every shard with each sample's files next to each other.
    let script = """
      import json, pathlib, sys, tarfile
      import numpy as np
      source, package = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
      actions, states = [], []
      for episode in sorted(source.iterdir()):
          for line in (episode / "steps.jsonl").read_text().splitlines():
              step = json.loads(line)
              actions.append(step["action"]); states.append(step["state"])
      stats = json.loads((package / "dataset_statistics.json").read_text())["blocks"]
      for key, values in (("action", np.array(actions)), ("proprio", np.array(states))):
          expected = {"mean": values.mean(0), "std": values.std(0), "min": values.min(0),
                      "max": values.max(0), "q01": np.quantile(values, 0.01, axis=0),
                      "q99": np.quantile(values, 0.99, axis=0)}
          for name, reference in expected.items():
              mine = np.array(stats[key][name])
              assert np.allclose(mine, reference, rtol=1e-6, atol=1e-12), (key, name, mine, reference)
      assert stats["num_transitions"] == len(actions) and stats["num_trajectories"] == 8
      assert stats["action"]["mask"] == [True] * 6 + [False]
      manifest = json.loads((package / "manifest.json").read_text())
      samples = 0
      for shard in manifest["shards"]:
          with tarfile.open(package / shard["path"]) as tar:
              keys = [m.name.split(".")[0] for m in tar.getmembers()]
          groups = [k for i, k in enumerate(keys) if i == 0 or keys[i - 1] != k]
          assert len(groups) == len(set(groups)), "sample files are not contiguous"
          assert len(groups) == shard["samples"]
          samples += len(groups)
      assert samples == 120
      print("ok")
      """
    let check = try ProcessRunner.run(TestPaths.python!, ["-c", script, source.path, package])
    #expect(check.status == 0, "\(check.standardError)")
    #expect(check.standardOutput == "ok\n")

    let verify = try vlatune.run(["dataset", "verify", "blocks", "--json"])
    #expect(verify.status == 0)
    #expect(try verify.json()["ok"] as? Bool == true)
  }

  @Test func badDataExits65NamingTheLocation() throws {
    let source = try SampleData.copy(into: directory.url)
    let steps = source.appendingPathComponent("episode_001/steps.jsonl")
    var lines = try String(contentsOf: steps, encoding: .utf8).split(separator: "\n").map(String.init)
    lines[3] = lines[3].replacingOccurrences(of: "\"action\": [", with: "\"action\": [NaN, ")
    try (lines.joined(separator: "\n") + "\n").write(to: steps, atomically: true, encoding: .utf8)

    let text = try vlatune.run(["dataset", "prepare", source.path])
    #expect(text.status == 65)
    #expect(text.standardError.contains("episode episode_001, step 3, action[0]: action[0] is nan"))
    #expect(text.standardError.contains("dim_mismatch") == false)

    let json = try vlatune.run(["dataset", "prepare", source.path, "--json"])
    #expect(json.status == 65)
    let error = try #require(try json.json()["error"] as? [String: Any])
    #expect(error["code"] as? String == "invalid_dataset")
    let findings = try #require(error["findings"] as? [[String: Any]])
    #expect(findings.contains { $0["code"] as? String == "nan_value" && $0["step"] as? Int == 3 })

    let list = try vlatune.run(["dataset", "list", "--json"])
    #expect((try list.json()["datasets"] as? [Any])?.isEmpty == true)
  }

  @Test func exitCodesForSourceAndNameProblems() throws {
    let missing = try vlatune.run(["dataset", "prepare", directory.appending("nope").path, "--json"])
    #expect(missing.status == 66)
    #expect((try missing.json()["error"] as? [String: Any])?["code"] as? String == "not_found")

    let notArchive = directory.appending("notes.txt")
    try "just text, not an archive".write(to: notArchive, atomically: true, encoding: .utf8)
    let unsupported = try vlatune.run(["dataset", "prepare", notArchive.path])
    #expect(unsupported.status == 64)
    #expect(unsupported.standardError.contains("not a supported archive"))

    let badFraction = try vlatune.run(["dataset", "prepare", directory.path, "--val-fraction", "2", "--json"])
    #expect(badFraction.status == 64)
    let error = try #require(try badFraction.json()["error"] as? [String: Any])
    #expect(error["param"] as? String == "val_fraction")
    #expect((error["message"] as? String)?.contains("[0, 1)") == true)

    let badFlag = try vlatune.run(["dataset", "prepare", directory.path, "--no-such-flag"])
    #expect(badFlag.status == 64)

    let source = try SampleData.copy(into: directory.url)
    let first = try vlatune.run(["dataset", "prepare", source.path, "--quiet"])
    #expect(first.status == 0)
    let id = first.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(id.hasPrefix("ds_") && id.count == 13)
    let again = try vlatune.run(["dataset", "prepare", source.path, "--json"])
    #expect(again.status == 73)
    #expect((try again.json()["error"] as? [String: Any])?["code"] as? String == "output_exists")
    let replaced = try vlatune.run(["dataset", "prepare", source.path, "--overwrite", "--quiet"])
    #expect(replaced.status == 0)
    #expect(replaced.standardOutput != first.standardOutput)
  }

  @Test func referencesResolveByPrefixAndNameAndRemoveDeletes() throws {
    let source = try SampleData.copy(into: directory.url)
    let a = try vlatune.run(["dataset", "prepare", source.path, "--name", "alpha", "--quiet"])
    let b = try vlatune.run(["dataset", "prepare", source.path, "--name", "beta", "--quiet"])
    let idA = a.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    let idB = b.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)

    let byName = try vlatune.run(["dataset", "show", "beta", "--json"])
    #expect(try byName.json()["id"] as? String == idB)
    var prefixLength = 4
    while idA.prefix(prefixLength) == idB.prefix(prefixLength) { prefixLength += 1 }
    let byPrefix = try vlatune.run(["dataset", "show", String(idA.prefix(prefixLength)), "--json"])
    #expect(try byPrefix.json()["id"] as? String == idA)

    let ambiguous = try vlatune.run(["dataset", "show", "ds_"])
    #expect(ambiguous.status == 64)
    #expect(ambiguous.standardError.contains(idA) && ambiguous.standardError.contains(idB))
    let unknown = try vlatune.run(["dataset", "show", "ds_zzzzzz"])
    #expect(unknown.status == 66)

    let list = try vlatune.run(["dataset", "list"])
    #expect(list.standardOutput.contains("alpha") && list.standardOutput.contains("beta"))

    let package = try #require(try byName.json()["path"] as? String)
    let removed = try vlatune.run(["dataset", "rm", "beta"])
    #expect(removed.status == 0)
    #expect(!FileManager.default.fileExists(atPath: package))
    #expect(try vlatune.run(["dataset", "show", "beta"]).status == 66)
  }

  @Test func verifyDetectsACorruptedShard() throws {
    let source = try SampleData.copy(into: directory.url)
    let prepared = try vlatune.run(["dataset", "prepare", source.path, "--json"])
    let document = try prepared.json()
    let shard = try #require((document["shards"] as? [[String: Any]])?.first)
    let path = (document["path"] as! String) + "/" + (shard["path"] as! String)
    let handle = try #require(FileHandle(forUpdatingAtPath: path))
    try handle.seek(toOffset: 700)
    try handle.write(contentsOf: Data([0x42, 0x42, 0x42]))
    try handle.close()
    let verify = try vlatune.run(["dataset", "verify", document["id"] as! String, "--json"])
    #expect(verify.status == 65)
    let report = try verify.json()
    #expect(report["ok"] as? Bool == false)
    #expect(verify.standardError.contains("failed verification"))
  }
}
