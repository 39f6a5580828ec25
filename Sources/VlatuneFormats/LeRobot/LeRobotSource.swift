import Foundation
import VlatuneSupport

/// A LeRobotDataset directory (v2.0, v2.1 or v3.0) as a ``DatasetSource``: numeric data from the
/// Parquet files (read natively), instructions from the task table, images from `image`
/// columns or decoded from the videos at each frame's timestamp.
package final class LeRobotSource: DatasetSource {
  /// Where one camera's frames come from.
  package struct Camera {
    /// The feature key (`observation.images.front`).
    var key: String
    /// The camera's name in the package.
    var slot: String
    /// `image` (bytes in the data file) or `video`.
    package var dtype: String
  }

  /// How to fetch one episode's images in pass 2.
  private struct Plan {
    var entry: LeRobotEpisodeEntry
    /// The episode's rows in its data file.
    var rows: Range<Int>
    var timestamps: [Double]
    /// Subtracted from the timestamps to find frames in the videos (see ``videoTimeShift``).
    var videoShift: Double
    /// Source bytes attributed to the episode (for progress).
    var bytes: Int64
  }

  /// The dataset's root directory (inside the scratch directory for an archive).
  package private(set) var root: String
  package let cameraMap: CameraMap?
  let skipIncomplete: Bool
  /// `--action-key` / `--state-keys` (`nil`: `action` and `observation.state`).
  package var actionKey: String?
  package var stateKeys: [String]?
  /// Said about how the source was found (a dataset one folder down).
  package var notes: [Diagnostic] = []
  /// An archive to extract first, and the directory to create the scratch directory in.
  private let archive: (path: String, scratchParent: String)?
  private var scratch: String?
  package var format: SourceFormat { .lerobot }

  package private(set) var info: LeRobotInfo?
  private(set) var cameras: [Camera] = []
  private var plans: [String: Plan] = [:]
  package private(set) var includedIndices: Set<Int> = []

  /// A dataset directory.
  package init(root: String, cameraMap: CameraMap?, skipIncomplete: Bool) {
    self.root = root
    self.cameraMap = cameraMap
    self.skipIncomplete = skipIncomplete
    self.archive = nil
  }

  /// A dataset inside an archive, extracted into a scratch directory under `scratchParent`
  /// when pass 1 starts (after admission) and removed with the source.
  package init(archive: String, scratchParent: String, cameraMap: CameraMap?, skipIncomplete: Bool) {
    self.root = ""
    self.cameraMap = cameraMap
    self.skipIncomplete = skipIncomplete
    self.archive = (archive, scratchParent)
  }

  deinit {
    if let scratch { FileIO.removeTree(scratch) }
  }

  package func inventory(cancellation: CancellationToken) throws -> SourceInventory {
    if let archive, scratch == nil {
      let directory = TemporaryDirectories.create(in: archive.scratchParent, label: "lerobot")
      scratch = directory
      root = try LeRobotArchive.extract(archive.path, into: directory, cancellation: cancellation)
    }
    do {
      return try readInventory(cancellation: cancellation)
    } catch let error as SourceFileError {
      throw error.vlatuneError
    }
  }

  private func readInventory(cancellation: CancellationToken) throws -> SourceInventory {
    let info = try LeRobotInfo.load(root: root)
    self.info = info
    cameras = try Self.selectCameras(info: info, map: cameraMap)
    let tasks = try LeRobotTasks.load(root: root, info: info)
    let entries = try LeRobotEpisodeEntry.load(root: root, info: info)
    guard !entries.isEmpty else {
      throw SourceFileError.file("meta/", "lists no episodes")
    }
    var inventory = SourceInventory(diagnostics: notes)
    let check = LeRobotFileCheck(root: root, info: info, entries: entries, cameras: cameras)
    let complete = check.complete
    inventory.diagnostics += check.diagnostics(skipIncomplete: skipIncomplete)
    let keys = try info.keys(action: actionKey, state: stateKeys)
    inventory.keys = sourceKeys(keys, info: info)
    if keys.state.isEmpty {
      let others = info.vectorKeys.filter { $0 != keys.action }
      if !others.isEmpty {
        inventory.diagnostics.append(
          Diagnostic(
            .warning, code: "no_state",
            message: "meta/info.json has no observation.state feature, so the package has no "
              + "state; if one of \(others.joined(separator: ", ")) is the robot's state, pass "
              + "--state-keys \(others[0])", field: "observation.state"))
      }
    }
    let byFile = Dictionary(grouping: complete, by: \.dataFile)
    var countedVideos: Set<String> = []
    var shifted: [String] = []
    for file in byFile.keys.sorted() {
      try cancellation.check()
      let table = try LeRobotTable(root: root, path: file)
      let fileBytes = FileIO.size(root + "/" + file)
      inventory.totalBytes += fileBytes
      let reader = try LeRobotFrameReader(
        table: table, info: info, actionKey: keys.action, stateKeys: keys.state)
      for entry in byFile[file, default: []].sorted(by: { $0.index < $1.index }) {
        guard let rows = try reader.rows(ofEpisode: entry.index) else {
          inventory.diagnostics.append(
            Diagnostic(
              .error, code: "missing_episode_data",
              message: "meta lists episode \(entry.index) but \(file) has no rows for it; "
                + "download the dataset again", episode: entry.name))
          continue
        }
        var diagnostics: [Diagnostic] = []
        let record = reader.record(
          entry: entry, rows: rows, tasks: tasks, cameras: cameras, diagnostics: &diagnostics)
        inventory.diagnostics += diagnostics
        guard let record else { continue }
        if let length = entry.length, length != record.stepCount {
          inventory.diagnostics.append(
            Diagnostic(
              .error, code: "length_mismatch",
              message: "meta says the episode has \(length) frames but \(file) holds "
                + "\(record.stepCount); the files are from different versions of the dataset",
              episode: entry.name))
        }
        var bytes = reader.rowCount > 0 ? fileBytes * Int64(rows.count) / Int64(reader.rowCount) : 0
        for camera in cameras where camera.dtype == "video" {
          if let video = entry.videos[camera.key], countedVideos.insert(video.path).inserted {
            let size = FileIO.size(root + "/" + video.path)
            inventory.totalBytes += size
            bytes += size
          }
        }
        let shift = Self.videoTimeShift(record.timestamps, fps: info.fps)
        if shift != 0 && cameras.contains(where: { $0.dtype == "video" }) { shifted.append(entry.name) }
        plans[record.name] = Plan(
          entry: entry, rows: rows, timestamps: record.timestamps, videoShift: shift, bytes: bytes)
        includedIndices.insert(entry.index)
        inventory.episodes.append(record)
      }
    }
    if !shifted.isEmpty {
      inventory.diagnostics.append(
        Diagnostic(
          .warning, code: "timestamps_offset",
          message: "\(shifted.count) episode(s) (\(shifted.prefix(3).joined(separator: ", ")))"
            + " have timestamps that start at k/fps instead of 0; their frames are taken from the "
            + "start of the video (frame i for row i), as GR00T's loader does"))
    }
    if inventory.episodes.isEmpty && inventory.diagnostics.allSatisfy({ $0.severity != .error }) {
      guard check.missing.isEmpty else {
        throw SourceFileError.file(
          "data/",
          "every episode listed in meta/ has absent files, so --skip-incomplete leaves none "
            + "(cameras with files: \(check.cameraCounts)); choose cameras with --camera-map")
      }
      throw SourceFileError.file("data/", "holds no episodes listed in meta/")
    }
    return inventory
  }

  /// The keys with their widths, from `meta/info.json`'s shapes.
  private func sourceKeys(_ keys: (action: String, state: [String]), info: LeRobotInfo) -> SourceKeys {
    let widths = keys.state.map { key in (key, info.features[key]?.shape.reduce(1, *) ?? 0) }
    return SourceKeys(
      action: keys.action, state: widths,
      others: info.vectorKeys.filter { $0 != keys.action && !keys.state.contains($0) })
  }

  /// The cameras to take: the map's, in its order, or every camera feature sorted by key.
  package static func selectCameras(info: LeRobotInfo, map: CameraMap?) throws -> [Camera] {
    try CameraMap.select(map, available: info.cameraKeys).map {
      Camera(key: $0.key, slot: $0.slot, dtype: info.features[$0.key]?.dtype ?? "")
    }
  }

  package func readImages(
    of episodes: [EpisodeRecord], cancellation: CancellationToken,
    deliver: (_ index: Int, _ images: [[UInt8]], _ bytesRead: Int64) throws -> Void
  ) throws {
    var bytesRead: Int64 = 0
    var table: LeRobotTable?
    for (index, episode) in episodes.enumerated() {
      try cancellation.check()
      guard let plan = plans[episode.name] else { continue }
      let count = episode.stepCount * cameras.count
      var images = [[UInt8]](repeating: [], count: count)
      for (cameraIndex, camera) in cameras.enumerated() {
        let frames: [[UInt8]]
        if camera.dtype == "video" {
          frames = try videoFrames(plan: plan, camera: camera, episode: episode.name)
        } else {
          if table?.path != plan.entry.dataFile {
            table = try withSourceFileErrors { try LeRobotTable(root: root, path: plan.entry.dataFile) }
          }
          frames = try imageBytes(table!, plan: plan, camera: camera, episode: episode.name)
        }
        for (step, frame) in frames.enumerated() where step < episode.stepCount {
          images[step * cameras.count + cameraIndex] = frame
        }
      }
      bytesRead += plan.bytes
      try deliver(index, images, bytesRead)
    }
  }

  private func withSourceFileErrors<T>(_ body: () throws -> T) throws -> T {
    do {
      return try body()
    } catch let error as SourceFileError {
      throw error.vlatuneError
    }
  }

  /// One camera's image bytes for the episode's rows, decoding only the row groups that hold
  /// them (LeRobot writes one row group per episode, so memory stays per episode).
  private func imageBytes(_ table: LeRobotTable, plan: Plan, camera: Camera, episode: String)
    throws -> [[UInt8]]
  {
    let file = plan.entry.dataFile
    let leaf = table.file.leaf(camera.key, member: "bytes") ?? table.file.leaf(camera.key)
    guard let leaf, leaf.type == 6 else {
      throw SourceFileError.file(
        file, "has no image bytes for '\(camera.key)' (expected an HF Image struct {bytes, path})"
      ).vlatuneError
    }
    let (column, firstRow) = try withSourceFileErrors { try table.read(leaf, covering: plan.rows) }
    return try plan.rows.map { row in
      let range = column.range(ofRow: row - firstRow)
      guard range.count == 1 else {
        let message = "\(file) row \(row): '\(camera.key)' has no image bytes"
        throw VlatuneError.invalidDataset(
          message: message,
          findings: [
            Diagnostic(
              .error, code: "missing_image", message: message, episode: episode,
              step: row - plan.rows.lowerBound, field: "images.\(camera.slot)")
          ])
      }
      return column.binaries[range.lowerBound]
    }
  }

  private func videoFrames(plan: Plan, camera: Camera, episode: String) throws -> [[UInt8]] {
    guard let video = plan.entry.videos[camera.key] else { return [] }
    let times = plan.timestamps.map { video.offset + $0 - plan.videoShift }
    do {
      return try VideoFrames.jpegFrames(of: root + "/" + video.path, at: times)
    } catch let error as VideoError {
      let message = "\(video.path): \(error.message)"
      throw VlatuneError.invalidDataset(
        message: "cannot decode the frames of \(episode): \(message)",
        findings: [
          Diagnostic(
            .error, code: "undecodable_video", message: message, episode: episode,
            field: "images.\(camera.slot)")
        ])
    }
  }

  /// How far an episode's timestamps are shifted from its video's clock: LeRobot's frames start
  /// at timestamp 0, but some writers (GR00T's sample data) start at 1/fps while the video's
  /// first frame is at 0. A whole number of frame periods is taken as such a shift.
  static func videoTimeShift(_ timestamps: [Double], fps: Double) -> Double {
    guard let first = timestamps.first, first > ValidationLimits.timestampTolerance else { return 0 }
    let frames = (first * fps).rounded()
    return abs(first - frames / fps) <= ValidationLimits.timestampTolerance ? first : 0
  }
}
