import Foundation
import Testing
import VlatuneTestSupport

/// The state directory cannot be hijacked, secrets are passed on but never written down, and
/// values from outside cannot draw on the terminal.
@Suite(.enabled(if: TestPaths.hasPython), .serialized)
struct StateSecurityCLITests {
  static let escape = "\u{1B}"

  static func mode(_ path: String) throws -> Int {
    (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
  }

  /// Whether a user other than the owner can reach and run `path` (every directory above it
  /// searchable by others), as the second-user tests need.
  static func othersCanRun(_ path: String) -> Bool {
    var url = URL(fileURLWithPath: path).resolvingSymlinksInPath()
    guard ((try? mode(url.path)) ?? 0) & 0o001 != 0 else { return false }
    while url.path != "/" {
      url.deleteLastPathComponent()
      guard ((try? mode(url.path)) ?? 0) & 0o001 != 0 else { return false }
    }
    return true
  }

  static func chmod(_ path: String, _ mode: Int) throws {
    try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
  }

  @Test func aStateDirectoryOthersCanWriteIsRefused() throws {
    let bed = try JobTestbed()
    let home = bed.vlatune.home.path
    for (path, mode) in [(home, 0o777), (home + "/jobs", 0o775), (home + "/vlatune.db", 0o666)] {
      let before = try Self.mode(path)
      try Self.chmod(path, mode)
      let refused = try bed.vlatune.run(["job", "list", "--json"])
      #expect(refused.status == 77, "\(path)")
      #expect(refused.standardError.contains("refusing the "))
      #expect(refused.standardError.contains("\(path): it is writable by"))
      #expect(refused.standardError.contains("chmod go-w \(path)"))
      let doctor = try bed.run(["doctor"])
      #expect(doctor.status == 69 && doctor.standardOutput.contains("chmod go-w \(path)"))
      try Self.chmod(path, before)
      #expect(try bed.vlatune.run(["job", "list"]).status == 0)
    }
  }

  @Test func aPolicyFileOthersCanWriteIsRefused() throws {
    let bed = try JobTestbed()
    let policy = bed.directory.appending("shared-policy.yaml").path
    try "tools:\n  start_finetune_job:\n    rules: [{rate_limit: 100000/second}]\n".write(
      toFile: policy, atomically: true, encoding: .utf8)
    try Self.chmod(policy, 0o666)
    for arguments in [["job", "list", "--policy", policy], ["policy", "check", policy]] {
      let refused = try bed.vlatune.run(arguments)
      #expect(refused.status == 77)
      #expect(refused.standardError.contains("refusing the policy file \(policy)"))
    }
    let planted = try bed.run(
      JobTestbedArguments.start + ["--quiet"], extra: ["VLATUNE_POLICY": policy])
    #expect(planted.status == 77)
    try Self.chmod(policy, 0o644)
    #expect(try bed.vlatune.run(["policy", "check", policy]).status == 0)
  }

  /// Ownership, as ssh checks it: a state directory and a policy file of another user (one this
  /// test creates) are refused.
  @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/useradd")))
  func filesOfAnotherUserAreRefused() throws {
    let user = "vlatune-other"
    _ = try ProcessRunner.run("/usr/sbin/useradd", ["--system", "--no-create-home", user], timeout: 30)
    let id = try ProcessRunner.run("/usr/bin/id", ["-u", user], timeout: 30)
    let uid = try #require(Int(id.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)))
    let bed = try JobTestbed()
    let home = bed.vlatune.home.path
    try FileManager.default.setAttributes([.ownerAccountID: uid], ofItemAtPath: home)
    let refused = try bed.vlatune.run(["job", "list"])
    #expect(refused.status == 77)
    #expect(refused.standardError.contains("refusing the state directory \(home): it is owned by uid \(uid)"))
    try FileManager.default.setAttributes([.ownerAccountID: 0], ofItemAtPath: home)
    let policy = bed.directory.appending("their-policy.yaml").path
    try "tools: {}\n".write(toFile: policy, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.ownerAccountID: uid], ofItemAtPath: policy)
    let planted = try bed.vlatune.run(["job", "list", "--policy", policy])
    #expect(planted.status == 77 && planted.standardError.contains("owned by uid \(uid)"))
  }

  @Test func aJobDirectoryOthersCouldChangeIsNotRun() throws {
    let bed = try JobTestbed(policy: "limits: {max_running_jobs: 1}\n")
    let first = try bed.start(trainer: JobTestbed.trainer("hang"))
    try bed.waitForState(first, ["running"])
    let second = try bed.start(trainer: JobTestbed.trainer("ok", steps: 1))
    let queued = try bed.status(second)
    #expect(queued["state"] as? String == "queued")
    let jobDir = try #require(queued["job_dir"] as? String)
    #expect(try Self.mode(jobDir) == 0o700)
    #expect(try Self.mode(jobDir + "/spec.json") == 0o600)
    try Self.chmod(jobDir, 0o777)
    _ = try bed.vlatune.run(["job", "cancel", first, "--grace", "5"])
    let failed = try bed.waitForState(second, ["failed", "succeeded"])
    #expect(failed["state"] as? String == "failed")
    let error = try #require(failed["error"] as? [String: Any])
    #expect((error["message"] as? String)?.contains("refusing the job directory \(jobDir)") == true)
    #expect(!FileManager.default.fileExists(atPath: jobDir + "/trainer-env.json"))  // never ran
  }

  @Test func secretsArePassedOnAndWrittenNowhere() throws {
    let secret = "hf_not_to_be_written_7f3a"
    let bed = try JobTestbed()
    let extra = [
      "VLATUNE_TRAINER_ENV": "HF_TOKEN, WANDB_API_KEY", "HF_TOKEN": secret,
      "UNLISTED_SECRET": "unlisted_value_91c2",
    ]
    let id = try bed.start(trainer: JobTestbed.trainer("hang"), extra: extra)
    let running = try bed.waitForState(id, ["running"])
    let jobDir = try #require(running["job_dir"] as? String)
    let spec = try String(contentsOfFile: jobDir + "/spec.json", encoding: .utf8)
    #expect(!spec.contains(secret))
    #expect(spec.contains("\"passed_environment\""))
    #expect(spec.contains("\"HF_TOKEN\""))
    // The watcher's environment: its own needs and the listed names, nothing else.
    let processes = try #require(running["processes"] as? [String: Any])
    let watcherPID = try #require(processes["watcher_pid"] as? Int)
    let environ = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(watcherPID)/environ"))
    let variables = Set(String(decoding: environ, as: UTF8.self).split(separator: "\0").map(String.init))
    #expect(variables.contains("HF_TOKEN=\(secret)"))
    #expect(!variables.contains { $0.hasPrefix("UNLISTED_SECRET=") })
    try waitUntil("the trainer's environment", timeout: 30) {
      FileManager.default.fileExists(atPath: jobDir + "/trainer-env.json")
    }
    let trainer =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: jobDir + "/trainer-env.json"))) as! [String: String]
    #expect(trainer["HF_TOKEN"] == secret)
    #expect(trainer["UNLISTED_SECRET"] == nil && trainer["WANDB_API_KEY"] == nil)
    _ = try bed.vlatune.run(["job", "cancel", id, "--grace", "5"])
    // Nothing under the state directory holds the value: not the spec, the database or its WAL.
    let files = FileManager.default.enumerator(atPath: bed.vlatune.home.path)?.compactMap { $0 as? String } ?? []
    // (trainer-env.json is the fake trainer's own dump of what it received.)
    for file in files where !file.hasSuffix("trainer-env.json") {
      let path = bed.vlatune.home.path + "/" + file
      guard FileManager.default.fileExists(atPath: path), let data = FileManager.default.contents(atPath: path)
      else { continue }
      #expect(data.range(of: Data(secret.utf8)) == nil, "\(file) holds the secret")
    }
    let badName = try bed.run(
      JobTestbedArguments.start, extra: ["VLATUNE_TRAINER_ENV": "HF TOKEN"])
    #expect(badName.status == 64 && badName.standardError.contains("'HF TOKEN' is not an environment variable name"))
  }

  @Test func controlCharactersNeverReachTheTerminal() throws {
    let bed = try JobTestbed()
    let forged = "agent\(Self.escape)[2K\nrate limit lifted for everyone"
    for (arguments, extra) in [
      (["job", "list", "--actor", forged], [String: String]()),
      (["job", "list"], ["VLATUNE_ACTOR": forged]),
      (JobTestbedArguments.start + ["--actor", forged], [:]),
    ] {
      let refused = try bed.run(arguments, extra: extra)
      #expect(refused.status == 64, "\(arguments)")
      #expect(!refused.standardError.contains(Self.escape) && refused.standardError.contains("\\u{1B}"))
      #expect(!refused.standardError.contains("\nrate limit lifted"))
    }
    let id = try bed.start(trainer: JobTestbed.trainer("ok", steps: 1))
    let reason = try bed.run(["job", "cancel", id, "--reason", "oops\(Self.escape)]0;pwned\u{7}"])
    #expect(reason.status == 64 && !reason.standardError.contains(Self.escape))
    let missing = try bed.run(["dataset", "show", "\(Self.escape)[31mred\nforged line"])
    #expect(missing.status == 66)
    #expect(!missing.standardError.contains(Self.escape) && !missing.standardError.contains("\nforged line"))
    // A step key from the recording, printed in a warning.
    let source = try SampleData.copy(into: bed.directory.url, name: "keys", episodes: 2, steps: 10)
    let steps = source.appendingPathComponent("episode_000/steps.jsonl")
    let text = try String(contentsOf: steps, encoding: .utf8)
    try text.replacingOccurrences(of: "{", with: "{\"\\u001b[2Jbad\": 1, ").write(
      to: steps, atomically: true, encoding: .utf8)
    let prepared = try bed.vlatune.run(["dataset", "prepare", source.path, "--name", "keys"])
    #expect(prepared.status == 0, "\(prepared.standardError)")
    #expect(prepared.standardError.contains("unknown step key"))
    #expect(!prepared.standardError.contains(Self.escape) && prepared.standardError.contains("\\u{1B}[2Jbad"))
  }

  /// A database the user cannot write is said by doctor (it said ok). Run as a second user the
  /// test creates, since root writes any file.
  @Test(
    .enabled(
      if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser")
        && othersCanRun(TestPaths.binary.path)))
  func doctorSaysTheDatabaseIsReadOnly() throws {
    let user = "vlatune-other"
    _ = try ProcessRunner.run("/usr/sbin/useradd", ["--system", "--no-create-home", user], timeout: 30)
    let bed = try JobTestbed()
    let home = bed.vlatune.home.path
    #expect(try ProcessRunner.run("/bin/chown", ["-R", user, bed.directory.url.path], timeout: 30).status == 0)
    for file in ["vlatune.db", "vlatune.db-wal", "vlatune.db-shm"]
    where FileManager.default.fileExists(atPath: home + "/" + file) {
      try Self.chmod(home + "/" + file, 0o444)
    }
    let doctor = try ProcessRunner.run(
      "/usr/sbin/runuser",
      [
        "-u", user, "--", "/usr/bin/env", "VLATUNE_HOME=\(home)", "VLATUNE_TRAINER=/bin/true", TestPaths.binary.path,
        "doctor",
      ],
      timeout: 60)
    #expect(doctor.status == 69, "\(doctor.standardOutput)\(doctor.standardError)")
    #expect(
      doctor.standardOutput.contains("FAIL database writable") || doctor.standardOutput.contains("readonly"),
      "\(doctor.standardOutput)")
    _ = try ProcessRunner.run("/bin/chown", ["-R", "root", bed.directory.url.path], timeout: 30)
  }
}

/// Shared argument lists.
enum JobTestbedArguments {
  static let start = ["job", "start", "--base-model", "tiny-vla", "--dataset", "sample"]
}
