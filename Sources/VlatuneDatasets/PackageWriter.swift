import Foundation
import VlatuneFormats
import VlatuneSupport

/// Pass 2: checks each episode's images, writes its samples into shards, and at the end writes
/// the package's metadata files (CONTRACT §6):
///
/// - `shards/{train,val}-NNNNNN.tar` — WebDataset samples, one per step;
/// - `episodes.jsonl` — one line per episode: index, name, split, steps, offset, instruction;
/// - `trajectories/action.f32`, `trajectories/state.f32` — every step's action and state as
///   little-endian float32 rows, so the trainer can form action chunks without the shards;
/// - `dataset_statistics.json` — OpenVLA's shape, keyed by the dataset name;
/// - `manifest.json` — the dataset document with every shard's checksum.
final class PackageWriter {
  private let directory: String
  private let analysis: DatasetAnalysis
  private let shards: ShardSetWriter
  private let shardSize: Int64
  private var cameraHeaders: [String: (header: ImageHeader, episode: String)] = [:]
  private(set) var diagnostics: [Diagnostic] = []
  private var dark = DarkCameraCheck()
  private let digests: EpisodeImageDigests
  private(set) var episodesWritten = 0

  init(directory: String, analysis: DatasetAnalysis, shardSize: Int64) throws {
    self.directory = directory
    self.analysis = analysis
    self.shardSize = shardSize
    self.shards = try ShardSetWriter(directory: directory, targetBytes: shardSize)
    self.digests = EpisodeImageDigests(count: analysis.episodes.count)
  }

  deinit { _ = digests.finish() }

  /// The SHA-256 of each episode's image bytes, once every episode has been added (waits for
  /// the episodes still being hashed; no episode can be added after).
  func finishImageDigests() -> [String] { digests.finish() }

  private var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

  /// Checks and writes one episode's samples (or only checks, once an error has been found).
  func addEpisode(_ index: Int, images: [[UInt8]]) throws {
    let episode = analysis.episodes[index]
    let headers = checkImages(episode, images: images)
    dark.add(episode, images: images)
    digests.add(index, images: images)
    episodesWritten += 1
    guard !hasErrors, let headers else { return }
    let split = analysis.splits[index]
    let cameras = episode.cameras
    let prefix =
      "{\"episode\":\(index),\"episode_name\":\(JSONOutput.quoted(episode.name)),"
      + "\"instruction\":\(JSONOutput.quoted(episode.instruction)),"
      + "\"num_steps\":\(episode.stepCount),\"split\":\"\(split)\""
    for step in 0..<episode.stepCount {
      let key = "e" + Self.sixDigits(index) + "_s" + Self.sixDigits(step)
      var json = prefix + ",\"step\":\(step),\"timestamp\":\(episode.timestamps[step])"
      json += ",\"action\":" + Self.array(episode.actions, row: step, width: episode.actionDim)
      json += ",\"state\":" + Self.array(episode.states, row: step, width: episode.stateDim)
      json += "}"
      var files: [(name: String, bytes: [UInt8])] = [(key + ".json", Array(json.utf8))]
      for (camera, name) in cameras.enumerated() {
        let slot = step * cameras.count + camera
        let fileExtension = headers[slot].encoding == "png" ? "png" : "jpg"
        files.append(("\(key).\(name).\(fileExtension)", images[slot]))
      }
      try shards.add(files: files, split: split)
    }
  }

  /// `String(format: "%06d", value)` without Foundation's formatter (once per step).
  static func sixDigits(_ value: Int) -> String {
    let digits = String(value)
    return digits.count >= 6 ? digits : String(repeating: "0", count: 6 - digits.count) + digits
  }

  private static func array(_ values: [Double], row: Int, width: Int) -> String {
    guard width > 0 else { return "[]" }
    return "[" + values[(row * width)..<((row + 1) * width)].map { "\($0)" }.joined(separator: ",")
      + "]"
  }

  private func checkImages(_ episode: EpisodeRecord, images: [[UInt8]]) -> [ImageHeader]? {
    var headers: [ImageHeader] = []
    var reported = 0
    let cameras = max(episode.cameras.count, 1)
    for (slot, bytes) in images.enumerated() {
      let camera = episode.cameras[slot % cameras]
      let step = slot / cameras
      func report(_ code: String, _ message: String) {
        reported += 1
        if reported <= ValidationLimits.errorsPerKind {
          diagnostics.append(
            Diagnostic(
              .error, code: code, message: message, episode: episode.name, step: step,
              field: "images.\(camera)"))
        }
      }
      do {
        let header = try ImageHeader.inspect(bytes)
        headers.append(header)
        if let (expected, origin) = cameraHeaders[camera] {
          if expected != header {
            report(
              "image_size_mismatch",
              "\(episode.imagePaths[slot]) is \(header.width)×\(header.height) \(header.encoding), "
                + "but camera '\(camera)' is \(expected.width)×\(expected.height) "
                + "\(expected.encoding) in episode \(origin); resize the frames to one size")
          }
        } else {
          cameraHeaders[camera] = (header, episode.name)
        }
      } catch let problem as ImageHeader.Problem {
        report(
          problem == .unknownFormat ? "undecodable_image" : "bad_image",
          "\(episode.imagePaths[slot]): \(problem)")
      } catch {
        report("bad_image", "\(episode.imagePaths[slot]): \(error)")
      }
    }
    return headers.count == images.count ? headers : nil
  }

  /// Closes the shards and writes the metadata files; returns the dataset document.
  func finish(
    id: String, name: String, createdAt: String, finalPath: String,
    source: DatasetDocument.Source, request: PrepareRequest
  ) throws -> DatasetDocument {
    try shards.finish()
    diagnostics += dark.warnings()
    let episodes = analysis.episodes
    try writeTrajectories()
    var lines = ""
    var offset = 0
    for (index, episode) in episodes.enumerated() {
      lines +=
        "{\"index\":\(index),\"name\":\(JSONOutput.quoted(episode.name)),"
        + "\"split\":\"\(analysis.splits[index])\",\"steps\":\(episode.stepCount),"
        + "\"offset\":\(offset),\"instruction\":\(JSONOutput.quoted(episode.instruction))}\n"
      offset += episode.stepCount
    }
    try FileIO.write(lines, to: directory + "/episodes.jsonl")
    let statistics = try JSONOutput.string(analysis.statistics)
    try FileIO.write(
      "{\n\(JSONOutput.quoted(name)): \(statistics)\n}\n",
      to: directory + "/dataset_statistics.json")

    let settings = DatasetDocument.PrepareSettings(
      valFraction: request.valFraction, seed: request.seed, shardSizeBytes: shardSize,
      gripperDim: analysis.gripperDim)
    let fingerprint = SHA256Hasher()
    fingerprint.update(source.fingerprint)
    fingerprint.update(try JSONOutput.string(settings, pretty: false))
    for shard in shards.shards { fingerprint.update("\(shard.path) \(shard.sha256)\n") }
    func count(_ split: String, _ value: (EpisodeRecord) -> Int) -> Int {
      zip(episodes, analysis.splits).filter { $0.1 == split }.reduce(0) { $0 + value($1.0) }
    }
    let document = DatasetDocument(
      id: id, name: name, createdAt: createdAt, path: finalPath, source: source,
      fingerprint: "sha256:" + fingerprint.hexDigest(), episodes: episodes.count,
      steps: analysis.statistics.numTransitions,
      splits: .init(train: count("train") { _ in 1 }, val: count("val") { _ in 1 }),
      splitSteps: .init(train: count("train", \.stepCount), val: count("val", \.stepCount)),
      cameras: analysis.shape.cameras.map { camera in
        let header = cameraHeaders[camera]?.header
        return DatasetDocument.Camera(
          key: camera, height: header?.height ?? 0, width: header?.width ?? 0,
          encoding: header?.encoding ?? "none")
      },
      actionDim: analysis.shape.actionDim, stateDim: analysis.shape.stateDim,
      fps: analysis.shape.fps, instructions: analysis.instructions,
      stats: analysis.statistics, shards: shards.shards,
      warnings: analysis.diagnostics.filter { $0.severity == .warning } + diagnostics,
      prepare: settings)
    try FileIO.write(try JSONOutput.string(document) + "\n", to: directory + "/manifest.json")
    return document
  }

  private func writeTrajectories() throws {
    try FileManager.default.createDirectory(
      atPath: directory + "/trajectories", withIntermediateDirectories: true)
    // Episode by episode, so the file is never built in memory (it is every step's numbers).
    for (field, values) in [("action", \EpisodeRecord.actions), ("state", \EpisodeRecord.states)] {
      try FileIO.write(to: directory + "/trajectories/\(field).f32") { append in
        for episode in analysis.episodes {
          var bytes = [UInt8]()
          bytes.reserveCapacity(episode[keyPath: values].count * 4)
          for value in episode[keyPath: values] {
            withUnsafeBytes(of: Float(value).bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
          }
          try append(bytes)
        }
      }
    }
  }
}
