import Foundation
import Testing
import VlatuneTestSupport

/// Real signals and a real write failure against the built binary: nothing half-written may be
/// registered and no temporary directory may remain.
@Suite(.enabled(if: TestPaths.hasPython), .serialized)
struct DatasetPrepareFaultTests {
  let directory = TemporaryDirectory("vlatune-faults")
  var vlatune: VlatuneRunner { VlatuneRunner(home: directory.appending("home")) }

  func assertNothingLeft() throws {
    let list = try vlatune.run(["dataset", "list", "--json"])
    #expect((try list.json()["datasets"] as? [Any])?.isEmpty == true)
    let home = directory.appending("home")
    #expect(try FileManager.default.contentsOfDirectory(atPath: home.appendingPathComponent("tmp").path).isEmpty)
    #expect(try FileManager.default.contentsOfDirectory(atPath: home.appendingPathComponent("datasets").path).isEmpty)
  }

  @Test(arguments: [SIGTERM, SIGINT])
  func signalDuringWriteLeavesNothing(_ signal: Int32) throws {
    let source = try SampleData.copy(
      into: directory.url, name: "big-\(signal)", episodes: 30, steps: 40,
      extra: ["--image-size", "160", "--texture", "0.6"])
    let running = try vlatune.start(
      ["dataset", "prepare", source.path, "--shard-size", "64KB", "--name", "big"])
    let temporary = directory.appending("home/tmp")
    // Wait until the package is being written (shards exist), then freeze the process so the
    // signal arrives mid-write however fast the machine is.
    try waitUntil("the first shard to be written", timeout: 120) {
      let entries = (try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? []
      guard let work = entries.first else { return false }
      let shards =
        (try? FileManager.default.contentsOfDirectory(
          atPath: temporary.appendingPathComponent(work + "/shards").path)) ?? []
      return shards.count >= 2
    }
    running.signal(SIGSTOP)
    running.signal(signal)
    running.signal(SIGCONT)
    let result = try running.wait(timeout: 60)
    #expect(result.status == 128 + signal, "\(result.standardError)")
    #expect(result.standardError.contains("interrupted"))
    try assertNothingLeft()
  }

  @Test func writeFailureLeavesNothing() throws {
    // RLIMIT_FSIZE makes writes past 300 kB fail with EFBIG, as a full disk would fail them.
    let source = try SampleData.copy(into: directory.url, episodes: 10, steps: 20)
    let result = try ProcessRunner.run(
      "/usr/bin/prlimit",
      ["--fsize=300000", TestPaths.binary.path, "dataset", "prepare", source.path, "--shard-size", "1MB"],
      environment: vlatune.fullEnvironment)
    #expect(result.status == 74, "\(result.standardError)")
    #expect(result.standardError.contains("File too large"))
    try assertNothingLeft()
  }
}
