import Foundation
import Testing
import VlatuneTestSupport

/// Comparing runs and the small things a researcher trips over: `job list` columns and filters,
/// `job checkpoints`, name prefixes, labels, `--help` groups, `--version`, negative numbers and
/// the dry run's summary.
@Suite(.enabled(if: TestPaths.hasPython), .serialized)
struct JobComparisonCLITests {
  static let start = ["job", "start", "--base-model", "tiny-vla", "--dataset", "sample"]

  @Test func listShowsChosenColumnsAndFilters() throws {
    let bed = try JobTestbed()
    let trainer = JobTestbed.trainer("ok", steps: 0, stepSeconds: 0, evals: true)
    for (index, arm) in ["left", "right", "left"].enumerated() {
      let result = try bed.run(
        Self.start + [
          "--max-steps", "10", "--name", "burst-\(index)", "--metadata", "arm=\(arm)",
          "--metadata", "lab=a", "--wait", "--quiet",
        ], trainer: trainer)
      #expect(result.status == 0, "\(result.standardError)")
    }
    _ = try bed.run(Self.start + ["--max-steps", "10", "--name", "other", "--wait", "--quiet"], trainer: trainer)

    let table = try bed.vlatune.run(["job", "list", "--columns", "name,state,step,val_l1,best_val_l1,elapsed,attempt"])
    #expect(table.status == 0, "\(table.standardError)")
    let lines = table.standardOutput.split(separator: "\n")
    #expect(
      lines.first?.split(separator: " ", omittingEmptySubsequences: true)
        == ["NAME", "STATE", "STEP", "VAL_L1", "BEST_VAL_L1", "ELAPSED", "ATTEMPT"])
    #expect(lines.count == 5)
    #expect(lines.dropFirst().allSatisfy { $0.contains("succeeded") && $0.contains("10/10") && $0.contains("0.05") })

    let named = try bed.vlatune.run(["job", "list", "--name", "burst", "--json"]).json()
    #expect(
      (named["jobs"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["burst-2", "burst-1", "burst-0"])
    let left = try bed.vlatune.run(["job", "list", "--metadata", "arm=left", "--metadata", "lab=a", "--json"]).json()
    let leftJobs = try #require(left["jobs"] as? [[String: Any]])
    #expect(leftJobs.compactMap { $0["name"] as? String } == ["burst-2", "burst-0"])
    #expect(leftJobs.first?["metadata"] as? [String: String] == ["arm": "left", "lab": "a"])
    #expect(try bed.vlatune.run(["job", "list", "--columns", "name,colour"]).status == 64)
    #expect(try bed.vlatune.run(["job", "list", "--metadata", "arm"]).status == 64)

    // A name prefix resolves when unique and is ambiguous otherwise.
    let ambiguous = try bed.vlatune.run(["job", "cancel", "burst"])
    #expect(ambiguous.status == 64)
    #expect(ambiguous.standardError.contains("burst-0") && ambiguous.standardError.contains("burst-2"))
    let unique = try bed.vlatune.run(["job", "status", "oth", "--json"])
    #expect(try unique.json()["name"] as? String == "other")

    // Checkpoints with their size and the eval at their step.
    let checkpoints = try bed.vlatune.run(["job", "checkpoints", "burst-0", "--json"]).json()
    let rows = try #require(checkpoints["checkpoints"] as? [[String: Any]])
    #expect(rows.compactMap { $0["step"] as? Int } == [5, 10])
    #expect(rows.allSatisfy { $0["complete"] as? Bool == true && ($0["bytes"] as? Int ?? 0) > 0 })
    #expect((rows.first?["eval"] as? [String: Double])?["val_l1"] == 0.1)
    let text = try bed.vlatune.run(["job", "checkpoints", "burst-0"])
    #expect(text.standardOutput.hasPrefix("STEP  SIZE"))
  }

  @Test func smallThingsSayWhatTheyMean() throws {
    let bed = try JobTestbed()
    let version = try bed.vlatune.run(["--version"])
    #expect(
      version.status == 0 && version.standardOutput.range(of: #"^\d+\.\d+\.\d+\n$"#, options: .regularExpression) != nil
    )

    let negative = try bed.vlatune.run(Self.start + ["--batch-size", "-1"])
    #expect(negative.status == 64)
    #expect(negative.standardError.contains("batch_size (--batch-size) must be in [1, 4096] samples, got -1"))
    let label = try bed.vlatune.run(Self.start + ["--metadata", "foo"])
    #expect(label.status == 64)
    #expect(label.standardError.contains("metadata (--metadata) takes key=value, got 'foo'"))

    let help = try bed.vlatune.run(["job", "start", "--help"])
    for group in [
      "REQUIRED:", "START FROM ANOTHER JOB OR A RUN FILE:", "DATA:", "LORA:", "OPTIMISATION:",
      "RESOURCES:", "SLURM (EXECUTOR SLURM):", "JOB:",
    ] {
      #expect(help.standardOutput.contains(group), "missing group \(group)")
    }
    #expect(help.standardOutput.contains("Required (unless --from or --config gives it)"))

    let dryRun = try bed.vlatune.run(Self.start + ["--max-steps", "7", "--seed", "2", "--dry-run"])
    #expect(dryRun.status == 0, "\(dryRun.standardError)")
    #expect(dryRun.standardOutput.hasPrefix("dry run: a real start would be admitted now"))
    #expect(dryRun.standardOutput.contains("7 steps  seed 2"))
    // The dry run started nothing.
    #expect((try bed.vlatune.run(["job", "list", "--json"]).json()["jobs"] as? [Any])?.isEmpty == true)
  }

  @Test func trackerVariablesReachTheTrainerByNameOnly() throws {
    let bed = try JobTestbed()
    let trainer = JobTestbed.trainer("ok", steps: 2, stepSeconds: 0)
    let missing = try bed.run(Self.start + ["--tracker", "mlflow"], trainer: trainer)
    #expect(missing.status == 64)
    #expect(missing.standardError.contains("tracker (--tracker) mlflow needs MLFLOW_TRACKING_URI"))
    let secret = "token-that-must-not-be-written-anywhere"
    let result = try bed.run(
      Self.start + ["--tracker", "mlflow", "--wait", "--json"], trainer: trainer,
      extra: ["MLFLOW_TRACKING_URI": "http://127.0.0.1:5999", "MLFLOW_TRACKING_TOKEN": secret])
    #expect(result.status == 0, "\(result.standardError)")
    let jobDir = try #require(try result.json()["job_dir"] as? String)
    let env =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: jobDir + "/trainer-env.json"))) as! [String: String]
    #expect(env["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:5999" && env["MLFLOW_TRACKING_TOKEN"] == secret)
    let spec = try String(contentsOfFile: jobDir + "/spec.json", encoding: .utf8)
    #expect(spec.contains("\"MLFLOW_TRACKING_TOKEN\"") && spec.contains("\"tracker\" : \"mlflow\""))
    #expect(!spec.contains(secret))
    for log in ["output.log", "watcher.log"] {
      #expect(!((try? String(contentsOfFile: jobDir + "/" + log, encoding: .utf8)) ?? "").contains(secret))
    }
    #expect(
      !(try String(contentsOf: bed.vlatune.home.appendingPathComponent("vlatune.db"), encoding: .isoLatin1)).contains(
        secret))
  }
}
