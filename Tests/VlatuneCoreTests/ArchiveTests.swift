import CFileIO
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

@Suite struct ArchiveTests {
  /// Many blocks through the writing thread (more than its queue holds): all bytes land in
  /// order and the hash is theirs.
  @Test func blockWriterWritesEveryBlockInOrderAndHashesThem() throws {
    let directory = TemporaryDirectory()
    let path = directory.appending("blocks.bin").path
    let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
    #expect(descriptor >= 0)
    defer { close(descriptor) }
    let writer = BlockWriter(descriptor: descriptor)
    var expected: [UInt8] = []
    for index in 0..<(BlockWriter.capacity * 5) {
      let block = [UInt8](repeating: UInt8(index), count: 1000 + index * 37)
      expected += block
      #expect(block.withUnsafeBytes { writer.append($0) } == 0)
    }
    let (bytes, sha) = try writer.finish().get()
    #expect(bytes == Int64(expected.count))
    #expect(try FileIO.read(path) == expected)
    #expect(sha == SHA256Hasher.hex(expected))
    #expect(try writer.finish().get().sha256 == sha)
  }

  /// With an `O_DIRECT` descriptor: whole aligned blocks go direct, an unaligned one goes
  /// through the ordinary descriptor, and once the offsets are unaligned (the kernel refuses
  /// direct writes there with EINVAL) everything does. The file holds every byte in order.
  @Test func blockWriterMixesDirectAndBufferedWritesIntoOneFile() throws {
    let directory = TemporaryDirectory()
    let path = directory.appending("direct.bin").path
    let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
    #expect(descriptor >= 0)
    defer { close(descriptor) }
    let direct = vt_open_direct(path)
    defer { if direct >= 0 { close(direct) } }
    let writer = BlockWriter(descriptor: descriptor, direct: direct >= 0 ? direct : nil)
    var expected: [UInt8] = []
    for (index, size) in [1 << 20, 1 << 20, 8192, 1000, 4096, 1 << 20, 77].enumerated() {
      let block = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ index) }
      expected += block
      #expect(block.withUnsafeBytes { writer.append($0) } == 0)
    }
    let (bytes, sha) = try writer.finish().get()
    #expect(bytes == Int64(expected.count))
    #expect(try FileIO.read(path) == expected)
    #expect(sha == SHA256Hasher.hex(expected))
  }

  /// A failed write (here: a descriptor not open for writing) reaches the producer at a later
  /// block and at `finish()`, and the producer never blocks on a full queue.
  @Test func blockWriterReportsTheFirstWriteFailure() throws {
    let directory = TemporaryDirectory()
    let path = directory.appending("readonly.bin").path
    try FileIO.write([1, 2, 3], to: path)
    let descriptor = open(path, O_RDONLY)
    #expect(descriptor >= 0)
    defer { close(descriptor) }
    let writer = BlockWriter(descriptor: descriptor)
    let block = [UInt8](repeating: 7, count: 4096)
    var failure: Int32 = 0
    for _ in 0..<(BlockWriter.capacity * 50) where failure == 0 {
      failure = block.withUnsafeBytes { writer.append($0) }
    }
    let finished = writer.finish()
    if case .failure(let error) = finished { #expect(error.errno == EBADF) } else { Issue.record("finish succeeded") }
    // The first block fails at once; the producer can queue at most `capacity` more before
    // it waits and sees the failure.
    #expect(failure == EBADF)
  }

  @Test func writtenShardReadsBackWithLibarchiveAndHashMatches() throws {
    let directory = TemporaryDirectory()
    let path = directory.appending("shard.tar").path
    let writer = try TarShardWriter(path: path)
    let payload = (0..<70_000).map { UInt8($0 % 251) }
    try writer.addFile(name: "e000000_s000000.json", bytes: Array("{\"a\":1}".utf8))
    try writer.addFile(name: "e000000_s000000.front.jpg", bytes: payload)
    try writer.addFile(name: "empty.txt", bytes: [])
    let (bytes, sha) = try writer.finish()

    let onDisk = try FileIO.read(path)
    #expect(Int64(onDisk.count) == bytes)
    #expect(SHA256Hasher.hex(onDisk) == sha)

    let reader = try ArchiveReader(path: path)
    var names: [String] = []
    var contents: [String: [UInt8]] = [:]
    while let entry = try reader.next() {
      #expect(entry.kind == .regular)
      names.append(entry.path)
      contents[entry.path] = try reader.readAll(limit: 1 << 20)
    }
    #expect(names == ["e000000_s000000.json", "e000000_s000000.front.jpg", "empty.txt"])
    #expect(contents["e000000_s000000.front.jpg"] == payload)
    #expect(contents["empty.txt"] == [])
  }

  /// Entries larger than the writer's 1 MiB blocks and entries straddling block boundaries:
  /// every byte lands once, in order (the file is a tar whose size is the headers and padded
  /// data, nothing more), and the reported SHA-256 is the file's.
  @Test func entriesAcrossBlockBoundariesReadBackWhole() throws {
    let directory = TemporaryDirectory()
    let path = directory.appending("big.tar").path
    let writer = try TarShardWriter(path: path)
    var expected: [(String, [UInt8])] = []
    for index in 0..<9 {
      let size = index % 3 == 0 ? 2_500_000 + index * 999 : 333_333 + index * 17
      let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
      expected.append(("f\(index).bin", bytes))
      try writer.addFile(name: "f\(index).bin", bytes: bytes)
    }
    let (bytes, sha) = try writer.finish()
    let onDisk = try FileIO.read(path)
    #expect(Int64(onDisk.count) == bytes)
    #expect(SHA256Hasher.hex(onDisk) == sha)
    let padded = expected.reduce(0) { $0 + 512 + ($1.1.count + 511) / 512 * 512 }
    #expect(onDisk.count == padded + 1024)

    let reader = try ArchiveReader(path: path)
    var read: [(String, [UInt8])] = []
    while let entry = try reader.next() { read.append((entry.path, try reader.readAll(limit: 1 << 23))) }
    #expect(read.map(\.0) == expected.map(\.0))
    #expect(read.map(\.1) == expected.map(\.1))
  }

  @Test(.enabled(if: TestPaths.hasPython)) func pythonTarfileReadsTheShard() throws {
    let directory = TemporaryDirectory()
    let path = directory.appending("shard.tar").path
    let writer = try TarShardWriter(path: path)
    let long = String(repeating: "d", count: 120) + "/e000001_s000002.front.jpg"
    try writer.addFile(name: long, bytes: [1, 2, 3])
    try writer.addFile(name: "e000001_s000002.json", bytes: Array("{}".utf8))
    _ = try writer.finish()
    let script = """
      import sys, tarfile
      with tarfile.open(sys.argv[1], "r:") as tar:
          for member in tar:
              assert member.isfile(), member
              data = tar.extractfile(member).read()
              print(member.name, len(data), member.mode, member.uid, member.mtime)
      """
    let result = try ProcessRunner.run(TestPaths.python!, ["-c", script, path])
    #expect(result.status == 0, "\(result.standardError)")
    #expect(
      result.standardOutput == "\(long) 3 420 0 0\ne000001_s000002.json 2 420 0 0\n")
  }

  @Test func writerRefusesToOverwrite() throws {
    let directory = TemporaryDirectory()
    let path = directory.appending("exists.tar").path
    _ = FileManager.default.createFile(atPath: path, contents: Data([1]))
    #expect(throws: ArchiveError.self) { try TarShardWriter(path: path) }
  }

  @Test func readerReportsUnrecognisedData() throws {
    let directory = TemporaryDirectory()
    let path = directory.appending("random.bin").path
    _ = FileManager.default.createFile(atPath: path, contents: Data((0..<4096).map { UInt8($0 % 7) }))
    #expect(throws: ArchiveError.self) {
      let reader = try ArchiveReader(path: path)
      _ = try reader.next()
    }
  }

  @Test func readerLimitsEntrySize() throws {
    let directory = TemporaryDirectory()
    let path = directory.appending("big.tar").path
    let writer = try TarShardWriter(path: path)
    try writer.addFile(name: "big", bytes: [UInt8](repeating: 7, count: 200_000))
    _ = try writer.finish()
    let reader = try ArchiveReader(path: path)
    _ = try reader.next()
    #expect(throws: ArchiveSizeLimitExceeded(limit: 100_000)) { try reader.readAll(limit: 100_000) }
  }

  @Test func unsafeEntriesAreNamed() {
    #expect(ArchiveSource.problem(with: .init(path: "a/../b", kind: .regular, size: 1)) != nil)
    #expect(ArchiveSource.problem(with: .init(path: "/etc/passwd", kind: .regular, size: 1)) != nil)
    #expect(ArchiveSource.problem(with: .init(path: "x", kind: .symlink, size: 0)) != nil)
    #expect(ArchiveSource.problem(with: .init(path: "x", kind: .hardlink, size: 0)) != nil)
    #expect(ArchiveSource.problem(with: .init(path: "dev", kind: .special, size: 0)) != nil)
    #expect(ArchiveSource.problem(with: .init(path: "ep/meta.json", kind: .regular, size: 1)) == nil)
    #expect(ArchiveSource.problem(with: .init(path: "ep/", kind: .directory, size: 0)) == nil)
  }

  @Test func sha256MatchesKnownVectors() {
    #expect(
      SHA256Hasher.hex([])
        == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    #expect(
      SHA256Hasher.hex(Array("abc".utf8))
        == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
  }
}

/// A LeRobotDataset archive's expansion budget holds while an entry streams, not after it: a
/// small archive of zeros stops at the limit, naming the entry.
@Suite(.enabled(if: TestPaths.hasPython)) struct LeRobotArchiveLimitTests {
  @Test func anEntryThatExpandsPastTheBudgetStopsAtIt() throws {
    let directory = TemporaryDirectory("vlatune-archive-bomb")
    let archive = directory.appending("bomb.tar.gz").path
    let script = """
      import io, sys, tarfile
      with tarfile.open(sys.argv[1], "w:gz") as tar:
          for name, data in (("ds/meta/info.json", b"{}"), ("ds/data/zeros.parquet", bytes(64 << 20))):
              info = tarfile.TarInfo(name)
              info.size = len(data)
              tar.addfile(info, io.BytesIO(data))
      """
    let made = try ProcessRunner.run(TestPaths.python!, ["-c", script, archive])
    #expect(made.status == 0, "\(made.standardError)")
    #expect(FileIO.size(archive) < 1 << 20)
    let target = directory.appending("out").path
    try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
    do {
      _ = try LeRobotArchive.extract(
        archive, into: target, cancellation: CancellationToken(), limit: 8 << 20)
      Issue.record("a 64 MiB entry passed an 8 MiB budget")
    } catch VlatuneError.invalidDataset(let message, let findings) {
      #expect(message.contains("ds/data/zeros.parquet crossed the limit"))
      #expect(findings.first?.code == "archive_too_large")
    }
    // At most the budget reached the disk.
    #expect(FileIO.size(target + "/ds/data/zeros.parquet") <= 8 << 20)
  }
}
