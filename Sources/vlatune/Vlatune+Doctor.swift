import ArgumentParser
import Foundation
import VlatuneCore

/// `vlatune doctor`: checks what vlatune needs and says what to do about anything missing.
struct DoctorCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "doctor",
    abstract: "Check the state directory, database, libraries, trainer environment and GPUs.")

  @Flag(help: "Print JSON.") var json = false
  @Flag(
    help: ArgumentHelp(
      "Also run SQLite's full integrity_check on the state database (read-only, without migrating; works on a database other commands refuse) and say how to recover a damaged one."
    ))
  var checkState = false

  struct Check: Encodable {
    var name: String
    var ok: Bool
    var detail: String
  }

  struct Report: Encodable {
    var schemaVersion = 1
    var ok: Bool
    var checks: [Check]
    enum CodingKeys: String, CodingKey {
      case ok, checks
      case schemaVersion = "schema_version"
    }
  }

  func run() throws {
    let environment = ProcessInfo.processInfo.environment
    var checks: [Check] = []
    let home = VlatuneHome.resolve(environment: environment)
    if checkState {
      for finding in StateIntegrity.check(home) {
        checks.append(Check(name: finding.name, ok: finding.ok, detail: finding.detail))
      }
    }
    do {
      let context = try VlatuneContext.open(environment: environment)
      checks.append(Check(name: "state directory", ok: true, detail: home.root.path))
      let migrations = try context.store.appliedMigrations()
      checks.append(
        Check(name: "database", ok: true, detail: "\(home.databaseURL.path) (WAL, \(migrations.count) migrations)"))
      let policy = try PolicyLoader.resolve(explicit: nil, environment: environment, home: home)
      checks.append(Check(name: "policy", ok: true, detail: "\(policy.source) (\(policy.digest))"))
      for finding in StateCheck.run(context) {
        checks.append(Check(name: finding.name, ok: finding.ok, detail: finding.detail))
      }
    } catch VlatuneError.stateDamaged(let path, let detail) {
      checks.append(
        Check(
          name: "database", ok: false,
          detail: "\(path) is damaged (\(detail))"
            + (checkState ? "; see 'database integrity'" : "; run 'vlatune doctor --check-state' for how to recover")))
    } catch {
      checks.append(
        Check(name: "state directory", ok: false, detail: "\(error); set VLATUNE_HOME to a writable directory"))
    }
    for (library, problem) in LibraryVersions.availability() {
      if let problem {
        checks.append(
          Check(
            name: library, ok: false, detail: "\(problem); run 'make deps' (or apt-get install the package named in it)"
          ))
      } else if library == "libarchive" {
        checks.append(Check(name: library, ok: true, detail: LibraryVersions.libarchive))
      } else {
        checks.append(Check(name: library, ok: true, detail: "loads"))
      }
    }
    let gpus = GPUInventory.count(environment: environment)
    checks.append(
      Check(name: "GPUs", ok: true, detail: gpus == 0 ? "none (jobs train on CPU with --gpus 0)" : "\(gpus)"))
    let argv = (try? TrainerCommand.argv(environment: environment, home: home)) ?? []
    if let python = argv.first, environment["VLATUNE_TRAINER"] == nil {
      let probe = Self.probe(python)
      checks.append(
        Check(
          name: "trainer python", ok: probe != nil,
          detail: probe.map { "\(python): \($0)" }
            ?? "\(python) cannot import vlatune_trainer, torch and peft; run 'make venv' or set VLATUNE_PYTHON"))
    } else {
      checks.append(Check(name: "trainer", ok: !argv.isEmpty, detail: argv.joined(separator: " ")))
    }
    if environment["VLATUNE_TRAINER"] == nil && environment["VLATUNE_PYTHON"] == nil {
      // Only LeRobot checkpoints need it: reported, never a failure.
      let lerobot = (try? TrainerCommand.argv(environment: environment, home: home, kind: .lerobot("act")))?.first
      let version = lerobot.flatMap {
        Self.probe($0, extra: "import lerobot; print('lerobot', lerobot.__version__, end=', '); ")
      }
      checks.append(
        Check(
          name: "LeRobot python", ok: true,
          detail: version.map { "\(lerobot ?? ""): \($0)" }
            ?? "not installed (only LeRobot checkpoints need it: 'make venv-lerobot')"))
    }
    if let python = argv.first, environment["VLATUNE_TRAINER"] == nil {
      // Closed-loop evaluation only (job eval, sim): reported, never a failure.
      let script =
        "import metaworld, mujoco; from vlatune_trainer.sim.meta_world import _select_renderer; "
        + "_select_renderer(); import os; print(f'metaworld, mujoco {mujoco.__version__}, "
        + "rendering {os.environ[\"MUJOCO_GL\"]}')"
      let result = try? CommandRunner.run(python, ["-c", script])
      checks.append(
        Check(
          name: "simulators", ok: true,
          detail: result?.status == 0
            ? (result?.output.trimmingCharacters(in: .whitespacesAndNewlines) ?? "")
            : "not installed (only job eval and vlatune sim need them: 'make venv')"))
    }
    let report = Report(ok: checks.allSatisfy(\.ok), checks: checks)
    if json {
      Output.json(report)
    } else {
      for check in checks { Output.standardOutput("\(check.ok ? "ok  " : "FAIL") \(check.name): \(check.detail)\n") }
    }
    if !report.ok { throw ExitCode(69) }
  }

  /// Imports the trainer's stack in `python`; returns a summary or `nil`.
  static func probe(_ python: String, extra: String = "") -> String? {
    let script =
      extra + "import torch, peft, vlatune_trainer; print(f'torch {torch.__version__}, peft {peft.__version__}, "
      + "CUDA {\"available: \" + str(torch.cuda.device_count()) + \" device(s)\" if torch.cuda.is_available() else \"not available\"}')"
    guard let result = try? CommandRunner.run(python, ["-c", script]), result.status == 0 else { return nil }
    return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
  }
}
