import Foundation
import SwiftProtobuf
import VlatuneSupport

/// An RLDS / TFDS dataset (Open X-Embodiment, OpenVLA's fine-tuning format) as a
/// ``DatasetSource``: TFRecord files of `tf.train.Example` episodes, decoded natively (framing
/// and both CRC32Cs verified, protobuf via swift-protobuf), the keys found from `features.json`.
package final class RLDSSource: DatasetSource {
  /// One episode's place in the files, for pass 2.
  private struct Plan {
    var file: Int
    var record: Int
    /// The steps kept (all, or those left after `--drop-noops`).
    var steps: [Int]
  }

  let path: String
  let options: SourceOptions
  package var format: SourceFormat { .rlds }

  private var root = ""
  private var files: [String] = []
  private var features = RLDSFeatures()
  private(set) var cameras: [(slot: String, key: String)] = []
  private var plans: [String: Plan] = [:]

  package init(path: String, options: SourceOptions) {
    self.path = path
    self.options = options
  }

  /// The TFDS dataset directory: `path` itself or the newest `<name>/<version>/` below it that
  /// holds `features.json`.
  static func datasetDirectory(_ path: String) -> String? {
    let manager = FileManager.default
    if manager.fileExists(atPath: path + "/features.json") { return path }
    var found: [String] = []
    for first in (try? manager.contentsOfDirectory(atPath: path)) ?? [] {
      let one = path + "/" + first
      if manager.fileExists(atPath: one + "/features.json") { found.append(one) }
      for second in (try? manager.contentsOfDirectory(atPath: one)) ?? [] {
        let two = one + "/" + second
        if manager.fileExists(atPath: two + "/features.json") { found.append(two) }
      }
    }
    return found.sorted { $0.compare($1, options: .numeric) == .orderedAscending }.last
  }

  /// Whether `path` looks like a TFDS dataset (for `--format auto`).
  package static func isPresent(in path: String) -> Bool { datasetDirectory(path) != nil }

  package func inventory(cancellation: CancellationToken) throws -> SourceInventory {
    do {
      return try readInventory(cancellation: cancellation)
    } catch let error as SourceFileError {
      throw error.vlatuneError
    }
  }

  private func readInventory(cancellation: CancellationToken) throws -> SourceInventory {
    guard let directory = Self.datasetDirectory(path) else {
      throw SourceFileError.file(path, "holds no TFDS features.json (at its top or in <name>/<version>/)")
    }
    root = directory
    features = try RLDSFeatures.load(directory + "/features.json")
    try features.choose(action: options.actionKey, state: options.stateKeys)
    cameras = try CameraMap.select(options.cameraMap, available: features.cameras)
    for key in options.rotate180 {
      guard features.cameras.contains(key) else {
        throw VlatuneError.invalidArgument(
          param: "--rotate-180",
          message: "camera '\(key)' is not in the dataset; available: "
            + features.cameras.joined(separator: ", "))
      }
      if case .image(let format) = features.steps["steps/observation/" + key], format != "jpeg" {
        throw VlatuneError.invalidArgument(
          param: "--rotate-180",
          message: "camera '\(key)' stores \(format) frames; --rotate-180 turns JPEG frames only "
            + "(rotate them when converting, or re-encode the dataset as JPEG)")
      }
    }
    let split = try RLDSSplit.train(in: directory)
    files = split.files
    var inventory = SourceInventory()
    inventory.keys = SourceKeys(
      action: features.actionKey, state: features.stateKeys.map { ($0, features.width($0)) },
      others: features.vectorKeys.filter { !features.stateKeys.contains($0) })
    var diagnostics = RLDSDiagnostics()
    let fps = options.fps ?? RLDSSource.assumedFPS
    if options.fps == nil {
      inventory.diagnostics.append(
        Diagnostic(
          .warning, code: "fps_assumed",
          message: "RLDS records no control frequency; \(RLDSSource.assumedFPS) Hz was assumed "
            + "for timestamps (pass --fps)"))
    }
    var counter = 0
    for (fileIndex, file) in files.enumerated() {
      inventory.totalBytes += FileIO.size(root + "/" + file)
      var records = 0
      try forEachRecord(fileIndex) { recordIndex, data in
        records = recordIndex + 1
        try cancellation.check()
        let name = String(format: "episode_%06d", counter)
        counter += 1
        let episode = try RLDSEpisode(
          data, features: features, cameras: [], source: "\(file) record \(recordIndex)")
        var record = try episode.record(
          name: name, fps: fps, instruction: options.instruction, cameras: cameras.map(\.slot),
          diagnostics: &inventory.diagnostics)
        var kept = Array(0..<episode.stepCount)
        if options.dropNoops {
          kept = NoopFilter.keptSteps(actions: record.actions, dimension: record.actionDim)
          diagnostics.dropped += record.stepCount - kept.count
          record = record.keepingSteps(kept)
        }
        if !episode.isLast.contains(true) { diagnostics.withoutLast.append(name) }
        for problem in episode.flagProblems() { diagnostics.flags.append("\(name): \(problem)") }
        record.imagePaths = ImagePaths(
          kept.flatMap { step in
            cameras.map { "\(file) record \(recordIndex) step \(step) \($0.key)" }
          })
        plans[name] = Plan(file: fileIndex, record: recordIndex, steps: kept)
        inventory.episodes.append(record)
      }
      if let listed = split.recordCounts?[fileIndex], listed != records {
        throw SourceFileError.file(
          file,
          "holds \(records) records but dataset_info.json lists \(listed) for it; the shard "
            + "is truncated or from another version of the dataset (copy it again)")
      }
    }
    try GripperConversion.apply(options, to: &inventory)
    inventory.diagnostics += diagnostics.summary(episodes: counter)
    if inventory.episodes.isEmpty {
      throw SourceFileError.file(root, "holds no episodes in \(files.joined(separator: ", "))")
    }
    return inventory
  }

  /// The Hz assumed when `--fps` is not given (RLDS stores none; OpenVLA recommends 5–10 Hz).
  static let assumedFPS = 10.0

  /// Calls `body` with every record of a shard, converting framing errors.
  private func forEachRecord(_ fileIndex: Int, _ body: (Int, [UInt8]) throws -> Void) throws {
    let file = files[fileIndex]
    let reader = try TFRecordReader(path: root + "/" + file)
    do {
      var index = 0
      while let data = try reader.next() {
        try body(index, data)
        index += 1
      }
    } catch let problem as TFRecordReader.Problem {
      throw SourceFileError.file(file, "\(problem)")
    }
  }

  package func readImages(
    of episodes: [EpisodeRecord], cancellation: CancellationToken,
    deliver: (_ index: Int, _ images: [[UInt8]], _ bytesRead: Int64) throws -> Void
  ) throws {
    var positions: [String: Int] = [:]
    for (index, episode) in episodes.enumerated() { positions[episode.name] = index }
    var wanted: [Int: [Int: (name: String, plan: Plan)]] = [:]
    for (name, plan) in plans where positions[name] != nil {
      wanted[plan.file, default: [:]][plan.record] = (name, plan)
    }
    var bytesRead: Int64 = 0
    do {
      for fileIndex in files.indices {
        let file = files[fileIndex]
        try forEachRecord(fileIndex) { recordIndex, data in
          try cancellation.check()
          bytesRead += Int64(data.count) + 16
          guard let (name, plan) = wanted[fileIndex]?[recordIndex], let position = positions[name]
          else { return }
          let episode = try RLDSEpisode(
            data, features: features, cameras: cameras.map(\.key),
            source: "\(file) record \(recordIndex)")
          var images: [[UInt8]] = []
          images.reserveCapacity(plan.steps.count * cameras.count)
          for step in plan.steps {
            for camera in cameras {
              let bytes = episode.images[camera.key]?[step] ?? []
              images.append(
                options.rotate180.contains(camera.key) ? try Self.rotated(bytes, source: file) : bytes)
            }
          }
          try deliver(position, images, bytesRead)
        }
      }
    } catch let error as SourceFileError {
      throw error.vlatuneError
    }
  }
}

extension RLDSSource {
  /// A frame turned 180° (`--rotate-180`).
  fileprivate static func rotated(_ bytes: [UInt8], source: String) throws -> [UInt8] {
    do {
      return try JPEGCodec.rotate180(bytes)
    } catch {
      throw SourceFileError.file(source, "holds an image that cannot be rotated: \(error)")
    }
  }
}

/// Aggregated warnings of an RLDS inventory.
private struct RLDSDiagnostics {
  var dropped = 0
  var withoutLast: [String] = []
  /// Step flags out of place, one line per episode and problem.
  var flags: [String] = []

  func summary(episodes: Int) -> [Diagnostic] {
    var result: [Diagnostic] = []
    if !withoutLast.isEmpty {
      result.append(
        Diagnostic(
          .warning, code: "no_last_step",
          message: "\(withoutLast.count) of \(episodes) episodes have no step with is_last = 1 "
            + "(\(withoutLast.prefix(3).joined(separator: ", "))…); they may be truncated clips"))
    }
    if !flags.isEmpty {
      result.append(
        Diagnostic(
          .warning, code: "step_flags",
          message: "\(flags.count) step flag(s) out of place: "
            + flags.prefix(3).joined(separator: "; ") + (flags.count > 3 ? "; …" : "")))
    }
    if dropped > 0 {
      result.append(
        Diagnostic(
          .warning, code: "noops_dropped",
          message: "--drop-noops removed \(dropped) no-op steps (‖a[:-1]‖ < 1e-4, gripper unchanged)"))
    }
    return result
  }
}
