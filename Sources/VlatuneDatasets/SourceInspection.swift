import Foundation
import VlatuneFormats
import VlatuneSupport

/// What `dataset inspect` says about a source without preparing it: the format, the features
/// (keys with their types and shapes), the cameras with how many episodes have their frames, the
/// episodes, frame rate and tasks, and which keys `dataset prepare` would take.
public struct SourceInspection: Codable, Sendable, Equatable {
  /// A key of the source.
  public struct Feature: Codable, Sendable, Equatable {
    /// The key (`observation.state`, `obs/robot0_eef_pos`).
    public var key: String
    /// Its type (`float32`, `video`, …) when the source says.
    public var dtype: String
    /// Its per-step shape when known.
    public var shape: [Int]
  }

  /// A camera and the episodes whose frames are present.
  public struct Camera: Codable, Sendable, Equatable {
    /// The camera's key in the source.
    public var key: String
    /// Episodes with its frames.
    public var episodesWithFiles: Int

    enum CodingKeys: String, CodingKey {
      case key
      case episodesWithFiles = "episodes_with_files"
    }
  }

  /// The format read.
  public var format: String
  /// The directory read (one folder below the path given when the dataset is there).
  public var root: String
  /// The format's version, when it has one (LeRobot's `codebase_version`).
  public var version: String?
  /// Episodes listed.
  public var episodes: Int
  /// Steps in all episodes, when known without reading the data.
  public var steps: Int?
  /// Control frequency, when the source records one.
  public var fps: Double?
  /// Keys with their types and shapes.
  public var features: [Feature]
  /// Cameras with the episodes that have their frames.
  public var cameras: [Camera]
  /// Distinct tasks (instructions), at most 20.
  public var tasks: [String]
  /// The keys `dataset prepare` takes by default (or as `--action-key`/`--state-keys` say).
  public var keys: SourceKeys?
  /// Problems found on the way (what `dataset prepare` would report, by code and message).
  public var notes: [Diagnostic]

  enum CodingKeys: String, CodingKey {
    case format, root, version, episodes, steps, fps, features, cameras, tasks, keys, notes
  }

  /// Inspects the source of `request` (its path, format, keys and camera map).
  ///
  /// - Throws: ``VlatuneError`` as `dataset prepare` would for a source it cannot read at all.
  public static func inspect(_ request: PrepareRequest, scratch: String) throws -> SourceInspection {
    let path = URL(fileURLWithPath: request.source).standardizedFileURL.path
    let source = try DatasetPreparer.openSource(path, request: request, scratch: scratch)
    if let lerobot = source as? LeRobotSource, FileIO.kind(path) == .directory {
      do {
        return try lerobotInspection(lerobot, request: request)
      } catch let error as SourceFileError {
        throw error.vlatuneError
      }
    }
    let inventory = try source.inventory(cancellation: CancellationToken())
    let episodes = inventory.episodes
    var tasks: [String] = []
    for episode in episodes where !tasks.contains(episode.instruction) && !episode.instruction.isEmpty {
      tasks.append(episode.instruction)
    }
    var features: [Feature] = []
    if let keys = inventory.keys {
      features.append(Feature(key: keys.action, dtype: "action", shape: [episodes.first?.actionDim ?? 0]))
      features += keys.state.map { Feature(key: $0.key, dtype: "state", shape: [$0.size]) }
      features += keys.otherStateCandidates.map { Feature(key: $0, dtype: "unused", shape: []) }
    }
    let cameraNames = episodes.first?.cameras ?? []
    return SourceInspection(
      format: source.format.rawValue, root: path, version: nil, episodes: episodes.count,
      steps: episodes.reduce(0) { $0 + $1.stepCount }, fps: episodes.first?.fps, features: features,
      cameras: cameraNames.map { name in
        Camera(key: name, episodesWithFiles: episodes.filter { $0.cameras.contains(name) }.count)
      },
      tasks: Array(tasks.prefix(20)), keys: inventory.keys, notes: inventory.diagnostics)
  }

  /// A LeRobotDataset from its metadata alone (no Parquet or video is decoded).
  private static func lerobotInspection(_ source: LeRobotSource, request: PrepareRequest) throws
    -> SourceInspection
  {
    let root = source.root
    let info = try LeRobotInfo.load(root: root)
    let entries = try LeRobotEpisodeEntry.load(root: root, info: info)
    let cameras = try LeRobotSource.selectCameras(info: info, map: request.cameraMap)
    let check = LeRobotFileCheck(root: root, info: info, entries: entries, cameras: cameras)
    var notes = source.notes + check.diagnostics(skipIncomplete: request.skipIncomplete)
    var keys: SourceKeys?
    do {
      let chosen = try info.keys(action: request.actionKey, state: request.stateKeys)
      keys = SourceKeys(
        action: chosen.action,
        state: chosen.state.map { ($0, info.features[$0]?.shape.reduce(1, *) ?? 0) },
        others: info.vectorKeys.filter { $0 != chosen.action && !chosen.state.contains($0) })
    } catch SourceFileError.file(let file, let message) {
      notes.append(Diagnostic(.error, code: "missing_feature", message: "\(file) \(message)"))
    }
    let tasks = (try? LeRobotTasks.load(root: root, info: info)) ?? [:]
    let lengths = entries.compactMap(\.length)
    return SourceInspection(
      format: "lerobot", root: root, version: info.version, episodes: entries.count,
      steps: lengths.count == entries.count ? lengths.reduce(0, +) : nil, fps: info.fps,
      features: info.features.keys.sorted().map {
        Feature(key: $0, dtype: info.features[$0]!.dtype, shape: info.features[$0]!.shape)
      },
      cameras: info.cameraKeys.map { Camera(key: $0, episodesWithFiles: check.presentByCamera[$0, default: 0]) },
      tasks: tasks.keys.sorted().prefix(20).compactMap { tasks[$0] }, keys: keys, notes: notes)
  }
}
