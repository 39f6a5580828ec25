import Foundation
import Testing
import VlatuneTestSupport

/// libarchive, libcrypto, Snappy, Zstandard and zlib are loaded by the commands that use them,
/// not by every command at start-up (Sources/CLibraryLoader). Seen through glibc's loader trace
/// (`LD_DEBUG=files`), which names every shared object a process maps and why.
@Suite(.enabled(if: TestPaths.hasPython), .serialized)
struct LazyLibrariesCLITests {
  let directory = TemporaryDirectory("vlatune-lazy-libraries")
  var vlatune: VlatuneRunner { VlatuneRunner(home: directory.appending("home")) }

  static let lazy = ["libarchive.so", "libcrypto.so", "libsnappy.so", "libzstd.so", "libz.so"]

  /// The shared objects the run's loader trace names (`file=NAME [0]; needed by …`).
  static func loaded(_ result: ProcessResult) -> Set<String> {
    var names = Set<String>()
    for line in result.standardError.split(separator: "\n") {
      guard let start = line.range(of: "file=") else { continue }
      let rest = line[start.upperBound...]
      names.insert(String(rest.prefix { $0 != " " }))
    }
    return names
  }

  static func loadsAny(_ names: Set<String>, of prefixes: [String]) -> [String] {
    names.filter { name in prefixes.contains { name.hasPrefix($0) || name.contains("/" + $0) } }
      .sorted()
  }

  /// Read-only commands load none of them, but for libcrypto in those that are guarded tools:
  /// their audit entry hashes the arguments (SHA-256), as every tool call's does.
  @Test func readOnlyCommandsLoadNoneOfThem() throws {
    var traced = vlatune
    traced.environment["LD_DEBUG"] = "files"
    let guarded = Self.lazy.filter { $0 != "libcrypto.so" }
    for (arguments, lazy) in [
      (["job", "list", "--json"], guarded), (["dataset", "list", "--json"], guarded),
      (["policy", "show"], Self.lazy),
    ] {
      let result = try traced.run(arguments)
      #expect(result.status == 0, "\(arguments): \(result.standardError.suffix(2000))")
      let names = Self.loaded(result)
      #expect(names.contains { $0.hasPrefix("libsqlite3.so") }, "the trace names libraries: \(names)")
      #expect(Self.loadsAny(names, of: lazy).isEmpty, "\(arguments) loaded \(Self.loadsAny(names, of: lazy))")
    }
  }

  @Test func prepareLoadsLibarchiveAndLibcryptoWhenItWritesShards() throws {
    let source = try SampleData.copy(into: directory.url, episodes: 2, steps: 10)
    var traced = vlatune
    traced.environment["LD_DEBUG"] = "files"
    let result = try traced.run(["dataset", "prepare", source.path, "--name", "lazy", "--json"])
    #expect(result.status == 0, "\(result.standardError.suffix(2000))")
    let names = Self.loaded(result)
    #expect(!Self.loadsAny(names, of: ["libarchive.so"]).isEmpty, "\(names)")
    #expect(!Self.loadsAny(names, of: ["libcrypto.so"]).isEmpty, "\(names)")
    // Loaded by dlopen on first use, not as dependencies of the executable.
    let archiveLines = result.standardError.split(separator: "\n").filter {
      $0.contains("file=libarchive.so")
    }
    #expect(archiveLines.contains { $0.contains("dynamically loaded by") }, "\(archiveLines)")

    // The forwarded functions work: the package verifies (SHA-256 of every shard again).
    let verify = try vlatune.run(["dataset", "verify", "lazy", "--json"])
    #expect(verify.status == 0, "\(verify.standardError)")
    let doctor = try vlatune.run(["doctor"])
    #expect(doctor.standardOutput.contains("libarchive 3."), "\(doctor.standardOutput)")
    for library in ["libcrypto", "libsnappy", "libzstd", "zlib"] {
      #expect(doctor.standardOutput.contains("ok   \(library): loads"), "\(doctor.standardOutput)")
    }
  }
}
