import Foundation
import GRDB
import Synchronization
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

/// A clock tests move by hand.
final class FakeClock: Sendable {
  private let current = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
  var now: Date { current.withLock { $0 } }
  func advance(_ seconds: TimeInterval) { current.withLock { $0 += seconds } }
}

@Suite struct JobStateMachineTests {
  static func record(_ id: String, state: JobState = .queued, jobDir: String = "/nonexistent")
    -> JobRecord
  {
    let dataset = JobSpec.Dataset(
      id: "ds_x", name: "x", path: "/p", fingerprint: "sha256:f", statistics: "/p/s")
    let hyperparameters = Hyperparameters(
      loraRank: 32, loraAlpha: 16, loraDropout: 0, learningRate: 5e-4, batchSize: 8,
      gradAccum: 1, effectiveBatchSize: 8, maxSteps: 10, seed: 1, actionChunk: 4, imageSize: 96,
      proprio: "all", precision: "auto", checkpointInterval: 5, targetModules: ["all-linear"],
      lrSchedule: "cosine", dataWorkers: 0, gradientCheckpointing: false, trustRemoteCode: false)
    let trainer = JobSpec.Trainer(argv: ["/bin/true"], environment: [:])
    let spec = JobSpec(
      jobId: id, name: nil, createdAt: "2027-01-15T08:00:00.000Z", baseModel: "tiny-vla",
      dataset: dataset, hyperparameters: hyperparameters, gpus: 0, executor: "local",
      jobDir: jobDir, outputDir: jobDir + "/output", checkpointsDir: jobDir + "/checkpoints",
      eventsPath: jobDir + "/events.jsonl", trainer: trainer, metadata: [:], maxRunningJobs: 2)
    return JobRecord(
      id: id, name: nil, state: state, createdAt: spec.createdAt, startedAt: nil, finishedAt: nil,
      baseModel: "tiny-vla", datasetId: "ds_x", datasetFingerprint: "sha256:f", executor: "local",
      actor: "test", jobDir: jobDir, spec: (try? JSONOutput.string(spec)) ?? "", progress: nil,
      lossHistory: nil, eval: nil, errorCode: nil, errorMessage: nil, exitCode: nil, signal: nil,
      watcherPid: nil, watcherStartTime: nil, trainerPid: nil, trainerStartTime: nil,
      queueReason: nil, cancelRequestedAt: nil, cancelDeadline: nil, cancelReason: nil,
      cancelledBy: nil, idempotencyKey: nil, malformedEvents: 0, eventsOffset: 0, gpuSlots: nil)
  }

  @Test func transitionsAreCompareAndSetAndRecorded() throws {
    let clock = FakeClock()
    let jobs = JobStore(store: try Store.inMemory(), now: { clock.now })
    try jobs.insert(Self.record("job_a"), actor: "test")
    #expect(try jobs.transition("job_a", from: [.queued], to: .starting, actor: "w"))
    #expect(try !jobs.transition("job_a", from: [.queued], to: .starting, actor: "w"))
    clock.advance(90)
    #expect(try jobs.transition("job_a", from: [.starting], to: .running, actor: "w"))
    clock.advance(30)
    #expect(try jobs.transition("job_a", from: [.running], to: .succeeded, actor: "w"))
    let record = try #require(try jobs.record("job_a"))
    #expect(record.state == .succeeded)
    #expect(record.finishedAt == Timestamp.format(Date(timeIntervalSince1970: 1_800_000_120)))
    let events = try jobs.events("job_a")
    #expect(
      events.map { "\($0.from ?? "")→\($0.to)" } == [
        "→queued", "queued→starting", "starting→running", "running→succeeded",
      ])
    #expect(events.last?.at == Timestamp.format(Date(timeIntervalSince1970: 1_800_000_120)))
  }

  @Test(arguments: [JobState.succeeded, .failed, .cancelled, .lost])
  func terminalStatesNeverChange(_ terminal: JobState) throws {
    let jobs = JobStore(store: try Store.inMemory())
    try jobs.insert(Self.record("job_t", state: terminal), actor: "test")
    for target in JobState.allCases {
      #expect(try !jobs.transition("job_t", from: JobState.allCases, to: target, actor: "x"))
    }
    try jobs.update("job_t", set: [(.progress, "{}")])
    #expect(try jobs.record("job_t")?.progress == nil)
    #expect(try jobs.record("job_t")?.state == terminal)
  }

  @Test func exactlyOneOfRacingTransitionsWins() throws {
    let directory = TemporaryDirectory()
    let path = directory.appending("vlatune.db").path
    let setup = JobStore(store: try Store(path: path))
    for index in 0..<40 {
      try setup.insert(Self.record("job_\(index)", state: .running), actor: "test")
    }
    // Two connections, as two processes would have, race on every job.
    let watcher = JobStore(store: try Store(path: path))
    let canceller = JobStore(store: try Store(path: path))
    let wins = Mutex((completed: 0, cancelling: 0))
    DispatchQueue.concurrentPerform(iterations: 80) { iteration in
      let id = "job_\(iteration / 2)"
      let changed: Bool
      if iteration % 2 == 0 {
        changed = (try? watcher.transition(id, from: [.running], to: .succeeded, actor: "w")) ?? false
        if changed { wins.withLock { $0.completed += 1 } }
      } else {
        changed = (try? canceller.transition(id, from: [.running], to: .cancelling, actor: "c")) ?? false
        if changed { wins.withLock { $0.cancelling += 1 } }
      }
    }
    let total = wins.withLock { $0.completed + $0.cancelling }
    #expect(total == 40)
    for index in 0..<40 {
      let events = try setup.events("job_\(index)")
      #expect(events.count == 2, "\(events)")
    }
  }

  @Test func livenessMarksJobsWithoutAWatcherLost() throws {
    let directory = TemporaryDirectory()
    let jobs = JobStore(store: try Store.inMemory())
    let alive = directory.appending("alive").path
    let dead = directory.appending("dead").path
    try FileManager.default.createDirectory(atPath: alive, withIntermediateDirectories: true)
    try FileManager.default.createDirectory(atPath: dead, withIntermediateDirectories: true)
    try jobs.insert(Self.record("job_alive", state: .running, jobDir: alive), actor: "t")
    try jobs.insert(Self.record("job_dead", state: .running, jobDir: dead), actor: "t")
    try jobs.insert(Self.record("job_done", state: .succeeded, jobDir: dead), actor: "t")
    let held = try #require(try FileLock.tryLock(alive + "/watcher.lock"))
    _ = try FileLock.tryLock(dead + "/watcher.lock")  // created, then released
    try JobLiveness(jobs: jobs, home: VlatuneHome(root: directory.url)).reapAll()
    #expect(try jobs.record("job_alive")?.state == .running)
    #expect(try jobs.record("job_dead")?.state == .lost)
    #expect(try jobs.record("job_dead")?.errorCode == "watcher_lost")
    #expect(try jobs.record("job_done")?.state == .succeeded)
    withExtendedLifetime(held) {}
  }

  @Test func waitExitStatusesFollowTheContract() {
    #expect(JobState.succeeded.waitExitStatus == 0)
    #expect(JobState.failed.waitExitStatus == 100)
    #expect(JobState.lost.waitExitStatus == 100)
    #expect(JobState.running.waitExitStatus == 101)
    #expect(JobState.cancelled.waitExitStatus == 103)
  }
}

@Suite struct TrainerEventTests {
  @Test func parsesTheProtocol() {
    #expect(
      TrainerEvent.parse(Array(#"{"type":"progress","step":3,"total_steps":10,"loss":0.5}"#.utf8))
        == .progress(step: 3, totalSteps: 10, loss: 0.5, learningRate: nil, samplesPerSecond: nil))
    #expect(
      TrainerEvent.parse(Array(#"{"type":"checkpoint","step":5,"path":"/c/step-0000005"}"#.utf8))
        == .checkpoint(step: 5, path: "/c/step-0000005"))
    #expect(TrainerEvent.parse(Array(#"{"type":"completed"}"#.utf8)) == .completed)
    #expect(
      TrainerEvent.parse(Array(#"{"type":"failed","code":"oom","message":"m"}"#.utf8))
        == .failed(code: "oom", message: "m"))
    #expect(
      TrainerEvent.parse(Array(#"{"type":"eval","val_l1":0.2,"time":5,"step":3}"#.utf8))
        == .eval(step: 3, metrics: ["val_l1": 0.2]))
    #expect(TrainerEvent.parse(Array(#"{"type":"heartbeat"}"#.utf8)) == .other)
    #expect(
      TrainerEvent.parse(Array(#"{"type":"progress","step":4,"loss":0.5,"grad_norm":0.8}"#.utf8))
        == .progress(step: 4, totalSteps: nil, loss: 0.5, learningRate: nil, samplesPerSecond: nil, gradNorm: 0.8))
    #expect(
      TrainerEvent.parse(Array(#"{"type":"started","total_steps":90,"resumed_from":45}"#.utf8))
        == .started(totalSteps: 90, resumedFrom: 45))
    #expect(TrainerEvent.parse(Array(#"{"type":"phase","phase":"evaluating"}"#.utf8)) == .phase("evaluating"))
    #expect(TrainerEvent.parse(Array(#"{"type":"phase","phase":"\u001b[2J"}"#.utf8)) == nil)
    #expect(TrainerEvent.parseTimed(Array(#"{"type":"completed","time":12.5}"#.utf8))?.time == 12.5)
  }

  @Test(arguments: [
    "not json", #"{"no_type":1}"#, #"{"type":"progress","step":"x"}"#,
    #"{"type":"progress","step":-1}"#, #"{"type":"checkpoint","step":1}"#, "[1,2]",
  ])
  func rejectsMalformedLines(_ line: String) {
    #expect(TrainerEvent.parse(Array(line.utf8)) == nil)
  }

  @Test func rejectsOversizedLines() {
    let line = #"{"type":"completed","pad":""# + String(repeating: "x", count: 70_000) + "\"}"
    #expect(TrainerEvent.parse(Array(line.utf8)) == nil)
  }

  @Test func tailReadsOnlyCompleteLines() throws {
    let directory = TemporaryDirectory()
    let path = directory.appending("events.jsonl").path
    try FileIO.write("{\"type\":\"started\"}\n{\"type\":\"prog", to: path)
    let tail = EventTail(path: path)
    let first = tail.read(from: 0)
    #expect(first.lines.count == 1)
    #expect(first.offset == 19)
    let handle = try #require(FileHandle(forWritingAtPath: path))
    try handle.seekToEnd()
    try handle.write(contentsOf: Data("ress\",\"step\":1}\n".utf8))
    try handle.close()
    let second = tail.read(from: first.offset)
    #expect(second.lines.map { String(decoding: $0, as: UTF8.self) } == [#"{"type":"progress","step":1}"#])
  }
}
