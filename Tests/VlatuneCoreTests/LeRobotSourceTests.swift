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

/// The native Parquet reader and the LeRobot source against datasets written by pyarrow/pandas
/// exactly as LeRobot writes them; every expected value was read back with pyarrow.
@Suite(.enabled(if: DatasetFixture.available))
struct LeRobotSourceTests {
  let directory = TemporaryDirectory("vlatune-lerobot")

  /// Equal up to JSON's decimal round trip (Foundation's parser is off in the last digit).
  private static func same(_ mine: [Double], _ reference: [Double]) -> Bool {
    mine.count == reference.count
      && zip(mine, reference).allSatisfy { abs($0 - $1) <= 1e-12 * max(1, abs($1)) }
  }

  /// Reads a fixture's episodes and checks them against pyarrow's reading of the same files.
  private func checkNumbers(_ options: [String], name: String) throws -> (LeRobotSource, [EpisodeRecord], [String: Any])
  {
    let (root, expected) = try DatasetFixture.make(in: directory.url, name: name, options)
    let source = LeRobotSource(root: root.path, cameraMap: nil, skipIncomplete: false)
    let inventory = try source.inventory(cancellation: CancellationToken())
    #expect(inventory.diagnostics.filter { $0.severity == .error }.isEmpty, "\(inventory.diagnostics)")
    let episodes = inventory.episodes.sorted { $0.name < $1.name }
    let expectedEpisodes = try #require(expected["episodes"] as? [[String: Any]])
    #expect(episodes.count == expectedEpisodes.count)
    for (episode, reference) in zip(episodes, expectedEpisodes) {
      let index = try #require(reference["episode_index"] as? Int)
      #expect(episode.name == String(format: "episode_%06d", index))
      #expect(episode.instruction == reference["instruction"] as? String)
      #expect(episode.stepCount == reference["length"] as? Int)
      let actions = try #require(reference["actions"] as? [[Double]])
      let states = try #require(reference["states"] as? [[Double]])
      #expect(Self.same(episode.actions, actions.flatMap { $0 }), "\(name) \(episode.name) actions")
      #expect(Self.same(episode.states, states.flatMap { $0 }), "\(name) \(episode.name) states")
      #expect(Self.same(episode.timestamps, reference["timestamps"] as? [Double] ?? []))
      #expect(episode.fps == expected["fps"] as? Double)
    }
    return (source, episodes, expected)
  }

  @Test(arguments: [
    ["--version", "v2.1"],
    ["--version", "v2.0", "--compression", "gzip", "--list-kind", "variable", "--float64"],
    ["--version", "v2.1", "--compression", "none", "--data-page-version", "2", "--no-dictionary"],
    ["--version", "v3.0", "--compression", "zstd", "--data-page-version", "2", "--no-dictionary"],
    ["--version", "v3.0", "--list-kind", "variable", "--legacy-tasks-index", "--row-group-size", "5"],
    ["--version", "v3.0", "--files-per-chunk", "2", "--chunks-size", "1", "--episodes", "5"],
    ["--version", "v3.0", "--compression", "gzip", "--data-page-version", "2", "--float64"],
  ])
  func numbersMatchPyarrow(options: [String]) throws {
    _ = try checkNumbers(options + ["--cameras", "none"], name: "numbers")
  }

  @Test(arguments: [["--version", "v2.1"], ["--version", "v3.0", "--compression", "zstd"]])
  func imageColumnsAreDeliveredByteForByte(options: [String]) throws {
    let (source, episodes, expected) = try checkNumbers(options + ["--cameras", "image"], name: "images")
    let cameras = try #require(expected["cameras"] as? [String])
    #expect(source.cameras.map(\.key) == cameras)
    let references = try #require(expected["episodes"] as? [[String: Any]])
    var delivered = 0
    try source.readImages(of: episodes, cancellation: CancellationToken()) { index, images, _ in
      let hashes = try #require(references[index]["image_sha256"] as? [String: [String]])
      for (cameraIndex, camera) in cameras.enumerated() {
        let mine = stride(from: cameraIndex, to: images.count, by: cameras.count).map {
          SHA256Hasher.hex(images[$0])
        }
        #expect(mine == hashes[camera], "episode \(index) \(camera)")
      }
      delivered += 1
    }
    #expect(delivered == episodes.count)
  }

  @Test(arguments: [
    ["--version", "v2.1", "--codec", "h264"],
    ["--version", "v3.0", "--codec", "h264", "--files-per-chunk", "2", "--episodes", "4"],
    ["--version", "v2.1", "--codec", "av1", "--episodes", "2"],
  ])
  func videoFramesAreDecodedAtEveryTimestamp(options: [String]) throws {
    let (source, episodes, expected) = try checkNumbers(options + ["--cameras", "video"], name: "video")
    let sizes = try #require(expected["image_sizes"] as? [String: [Int]])
    try source.readImages(of: episodes, cancellation: CancellationToken()) { index, images, _ in
      #expect(images.count == episodes[index].stepCount * source.cameras.count)
      for (slot, image) in images.enumerated() {
        let camera = source.cameras[slot % source.cameras.count]
        let header = try ImageHeader.inspect(image)
        #expect(header.encoding == "jpeg")
        #expect([header.height, header.width] == sizes[camera.key], "\(camera.key)")
      }
    }
  }

  @Test func truncatedAndCorruptParquetAreMalformed() throws {
    let (root, _) = try DatasetFixture.make(in: directory.url, name: "bad", ["--version", "v2.1", "--cameras", "none"])
    let path = root.appendingPathComponent("data/chunk-000/episode_000000.parquet").path
    let bytes = try FileIO.read(path)
    #expect(throws: ParquetError.self) { try ParquetFile(bytes: Array(bytes.prefix(bytes.count / 2))) }
    #expect(throws: ParquetError.self) { try ParquetFile(bytes: Array("PAR1PAR1".utf8)) }
    // Every byte of the first page's header and data overwritten: reading the column fails
    // with a format error, never a crash or wrong numbers.
    let file = try ParquetFile(bytes: bytes)
    let leaf = try #require(file.leaf("action"))
    let chunk = try #require(file.metadata.rowGroups.first?.columns.first { $0.path == leaf.path })
    let start = Int(chunk.dictionaryPageOffset ?? chunk.dataPageOffset)
    for pattern: UInt8 in [0x00, 0xff, 0x5a] {
      var damaged = bytes
      for offset in start..<(start + 24) { damaged[offset] = pattern }
      let reread = try ParquetFile(bytes: damaged)
      #expect(throws: ParquetError.self) { try reread.column(leaf) }
    }
  }

  @Test func thriftSkipsUnknownFieldsAndRejectsRunaways() throws {
    // struct { 1: i32 = 5, 7: binary "ab" (unknown), 2: list<i32> [1, -1] } STOP
    let bytes: [UInt8] = [0x15, 0x0a, 0x68, 0x02, 0x61, 0x62, 0x09, 0x04, 0x25, 0x02, 0x01, 0x00]
    var reader = ThriftCompactReader(bytes)
    var last: Int16 = 0
    var seen: [Int16] = []
    while let (id, type) = try reader.nextField(&last) {
      seen.append(id)
      if id == 1 { #expect(try reader.i32() == 5) } else { try reader.skip(type) }
    }
    #expect(seen == [1, 7, 2])
    var runaway = ThriftCompactReader([0x18, 0xff, 0xff, 0x03, 0x00])
    var id: Int16 = 0
    _ = try runaway.nextField(&id)
    #expect(throws: ParquetError.self) { try runaway.binary() }
  }

  @Test func rleHybridDecodesRunsAndBitPackedGroups() throws {
    // RLE run of 3 × value 5 (width 3), then one bit-packed group of 8 values 0...7 (width 3).
    let bytes: [UInt8] = [0x06, 0x05, 0x03, 0x88, 0xc6, 0xfa]
    var decoder = try RLEHybridDecoder(bytes, start: 0, end: bytes.count, bitWidth: 3)
    #expect(try decoder.decode(count: 11) == [5, 5, 5, 0, 1, 2, 3, 4, 5, 6, 7])
    var short = try RLEHybridDecoder([0x03, 0x88], start: 0, end: 2, bitWidth: 3)
    #expect(throws: ParquetError.self) { try short.decode(count: 8) }
  }

  /// Found by `make fuzz`: collections of empty elements nested a few levels deep made `skip`
  /// loop for the product of their counts (seconds per file); a bit-packed run declaring
  /// billions of groups unpacked every one of them (20 s for 56 KB,
  /// `Fuzz/regressions/parquet/bitpacked-run-billions-of-groups`).
  @Test func hostileCountsCostNoMoreThanTheirBytes() throws {
    // list<stop> of 3 elements; map<bool, bool> of 1 entry, each bool a byte.
    var stops = ThriftCompactReader([0x30])
    #expect(throws: ParquetError.self) { try stops.skip(.list) }
    var bools = ThriftCompactReader([0x01, 0x11, 0x01, 0x02, 0x7f])
    try bools.skip(.map)
    #expect(bools.position == 4)
    var endless = ThriftCompactReader([0xff, 0xff, 0xff, 0xff, 0x0f, 0x11])
    #expect(throws: ParquetError.self) { try endless.skip(.map) }
    // A bit-packed run of 2^30 groups (header varint 2^31 + 1) asked for 4 values of width 1.
    let run: [UInt8] = [0x81, 0x80, 0x80, 0x80, 0x08, 0b0000_1010]
    var decoder = try RLEHybridDecoder(run, start: 0, end: run.count, bitWidth: 1)
    #expect(try decoder.decode(count: 4) == [0, 1, 0, 1])
    #expect(throws: ParquetError.self) { try ParquetColumnChunkReader.checkValueCount(5, remaining: 4) }
    #expect(throws: ParquetError.self) {
      try ParquetColumnChunkReader.checkValueCount(ParquetColumnChunkReader.maximumPageValues + 1, remaining: .max)
    }
    #expect(throws: ParquetError.self) {
      try PageDecompressor.checkDeclaredSize([0x05, 0x10, 0x61], range: 0..<3, codec: 1, size: 1 << 20)
    }
    #expect(throws: ParquetError.self) {
      try PageDecompressor.checkDeclaredSize([UInt8](repeating: 0, count: 10), range: 0..<10, codec: 2, size: 1 << 20)
    }
  }

  @Test func cameraMapParsesSlotsAndRejectsBadNames() throws {
    let map = try CameraMap(parsing: "front=observation.images.cam_high, observation.images.wrist")
    #expect(
      map.entries == [
        .init(slot: "front", key: "observation.images.cam_high"), .init(slot: nil, key: "observation.images.wrist"),
      ])
    #expect(try CameraMap(parsing: "none").entries.isEmpty)
    #expect(CameraMap.defaultSlot(for: "observation.images.cam_high") == "cam_high")
    #expect(CameraMap.defaultSlot(for: "observation.image") == "image")
    #expect(throws: VlatuneError.self) { try CameraMap(parsing: "a b=observation.images.x") }
    #expect(throws: VlatuneError.self) { try CameraMap(parsing: "front=,x") }
  }

  @Test func templatesFillLikePythonFormat() {
    #expect(
      LeRobotInfo.fill(
        "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4",
        ["episode_chunk": 1, "episode_index": 1042], videoKey: "cam")
        == "videos/chunk-001/cam/episode_001042.mp4")
    #expect(
      LeRobotInfo.fill(
        "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet", ["chunk_index": 0, "file_index": 12])
        == "data/chunk-000/file-012.parquet")
  }
}
