import ArgumentParser
import Foundation
import Testing
import VlatuneTestSupport

@testable import vlatune

/// `job status` read without ArgumentParser (Sources/vlatune/StatusFastPath.swift) means what
/// ArgumentParser would make of the same arguments, and leaves it everything else.
@Suite struct StatusFastPathTests {
  /// What ArgumentParser makes of `arguments`: the `job status` command's values, or nil when it
  /// parses them as something else or refuses them.
  static func parsedByArgumentParser(_ arguments: [String]) -> (job: String, json: Bool, watch: Bool)? {
    guard let command = try? Vlatune.parseAsRoot(arguments) as? JobCommand.Status else { return nil }
    return (command.job, command.json, command.watch)
  }

  @Test(arguments: [
    ["job", "status", "job_r0dyt8whkj"],
    ["job", "status", "job_r0dyt8whkj", "--json"],
    ["job", "status", "--json", "job_r0"],
    ["job", "status", "nightly-run"],
    ["job", "status", "a name with spaces", "--json"],
    ["job", "status", "key=value"],
    ["job", "status", "jobs/1"],
  ])
  func acceptedFormsMeanWhatArgumentParserMakesOfThem(_ arguments: [String]) throws {
    let fast = try #require(StatusFastPath.parse(arguments))
    let parsed = try #require(Self.parsedByArgumentParser(arguments))
    #expect(fast.job == parsed.job && fast.json == parsed.json && !parsed.watch)
  }

  @Test(arguments: [
    [], ["job"], ["job", "status"], ["job", "status", "--json"],
    ["job", "status", "x", "--watch"], ["job", "status", "--watch", "x", "--json"],
    ["job", "status", "x", "--json", "--json"], ["job", "status", "x", "y"],
    ["job", "status", "-h"], ["job", "status", "--help"], ["job", "status", "x", "--help"],
    ["job", "status", "help"], ["job", "status", ""], ["job", "status", "--", "x"],
    ["job", "status", "x", "--json=true"], ["job", "status", "-x"],
    ["job", "status", "x", "--generate-completion-script", "bash"],
    ["job", "list"], ["jobs", "status", "x"], ["help", "job", "status"], ["job", "--json", "status", "x"],
  ])
  func everythingElseIsLeftToArgumentParser(_ arguments: [String]) {
    #expect(StatusFastPath.parse(arguments) == nil)
  }

  /// Every argument list of up to five tokens from a vocabulary of names, flags and edge cases:
  /// wherever the fast path answers, ArgumentParser parses `job status` with the same values.
  @Test func agreesWithArgumentParserOnEveryCombination() {
    let vocabulary = ["job", "status", "--json", "--watch", "job_a", "b", "-h", "help", "", "--", "-x"]
    var lists: [[String]] = [[]]
    var accepted = 0
    for _ in 1...5 {
      lists = lists.flatMap { list in vocabulary.map { list + [$0] } }
      for arguments in lists where arguments.starts(with: ["job", "status"]) {
        guard let fast = StatusFastPath.parse(arguments) else { continue }
        accepted += 1
        let parsed = Self.parsedByArgumentParser(arguments)
        #expect(
          parsed.map { $0.job == fast.job && $0.json == fast.json && !$0.watch } == true,
          "\(arguments): fast path \(fast), ArgumentParser \(String(describing: parsed))")
      }
    }
    // `job status REF`, `… REF --json` and `… --json REF` for each of the four plain words.
    #expect(accepted == 12)
  }
}

/// The binary answers `job status` the same through the fast path as through ArgumentParser
/// (`--` before the reference sends the same request through ArgumentParser).
@Suite(.enabled(if: TestPaths.hasPython), .serialized)
struct StatusFastPathCLITests {
  @Test func sameOutputAndExitStatusEitherWay() throws {
    let bed = try JobTestbed()
    let id = try bed.start(trainer: JobTestbed.trainer("ok", steps: 3))
    try bed.waitForState(id, ["succeeded"])
    // A second job for an ambiguous prefix, ended too: both answers must see the same states.
    try bed.waitForState(try bed.start(trainer: JobTestbed.trainer("ok", steps: 3)), ["succeeded"])
    for (fast, parsed) in [
      (["job", "status", id, "--json"], ["job", "status", "--json", "--", id]),
      (["job", "status", id], ["job", "status", "--", id]),
      (["job", "status", "job_nope", "--json"], ["job", "status", "--json", "--", "job_nope"]),
      (["job", "status", "job_nope"], ["job", "status", "--", "job_nope"]),
      (["job", "status", "job_"], ["job", "status", "--", "job_"]),
    ] {
      let viaFastPath = try bed.vlatune.run(fast)
      let viaArgumentParser = try bed.vlatune.run(parsed)
      #expect(viaFastPath.status == viaArgumentParser.status, "\(fast)")
      #expect(viaFastPath.standardOutput == viaArgumentParser.standardOutput, "\(fast)")
      #expect(viaFastPath.standardError == viaArgumentParser.standardError, "\(fast)")
    }
    #expect(try bed.vlatune.run(["job", "status", id, "--json"]).json()["state"] as? String == "succeeded")
    #expect(try bed.vlatune.run(["job", "status", "job_nope", "--json"]).status == 66)
    #expect(try bed.vlatune.run(["job", "status", "job_"]).status == 64)
  }

  /// The fast path leaves its connection to `_exit`; the one write it can make (a job whose
  /// processes are gone becomes `lost`) is there for every reader after it, recorded once.
  @Test func aJobMarkedLostThroughTheFastPathStaysLost() throws {
    let bed = try JobTestbed()
    let id = try bed.start(trainer: JobTestbed.trainer("ok", steps: 100_000))
    let running = try bed.waitForState(id, ["running"])
    let processes = try #require(running["processes"] as? [String: Any])
    let pids = [try #require(processes["watcher_pid"] as? Int), try #require(processes["trainer_pid"] as? Int)]
    for pid in pids { kill(Int32(pid), SIGKILL) }
    try waitUntil("the job's processes to die", timeout: 10) { pids.allSatisfy { !processIsAlive($0) } }

    let marked = try bed.vlatune.run(["job", "status", id, "--json"])
    #expect(marked.status == 0, "\(marked.standardError)")
    #expect(try marked.json()["state"] as? String == "lost")
    let reread = try bed.vlatune.run(["job", "status", "--json", "--", id])
    #expect(try reread.json()["state"] as? String == "lost")
    #expect(reread.standardOutput == (try bed.vlatune.run(["job", "status", id, "--json"])).standardOutput)
    let events = try JobEvents.read(home: bed.vlatune.home, job: id)
    #expect(events.filter { $0.hasSuffix("→lost") }.count == 1, "\(events)")
  }
}
