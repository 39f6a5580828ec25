import Foundation
import VlatuneSupport

/// One episode as a LeRobotDataset's metadata lists it, with the files that hold its data.
package struct LeRobotEpisodeEntry {
  /// A camera's video: the file (relative to the root) and where the episode starts in it.
  struct Video {
    var path: String
    var offset: Double
  }

  var index: Int
  /// Task strings from the episode metadata (used when the data has no `task_index`).
  var tasks: [String]
  /// Frame count from the metadata.
  package var length: Int?
  /// The data file (relative to the root).
  var dataFile: String
  /// Video files per camera key.
  var videos: [String: Video]

  /// The episode's name in the package.
  var name: String { String(format: "episode_%06d", index) }

  /// Reads the episode list of a dataset.
  package static func load(root: String, info: LeRobotInfo) throws -> [LeRobotEpisodeEntry] {
    switch info.layout {
    case .v2: return try loadV2(root: root, info: info)
    case .v3: return try loadV3(root: root, info: info)
    }
  }

  private static func loadV2(root: String, info: LeRobotInfo) throws -> [LeRobotEpisodeEntry] {
    let path = "meta/episodes.jsonl"
    guard let bytes = FileManager.default.contents(atPath: root + "/" + path) else {
      throw SourceFileError.file(path, "is missing; v2 datasets list their episodes there")
    }
    var entries: [LeRobotEpisodeEntry] = []
    for (number, line) in bytes.split(separator: UInt8(ascii: "\n")).enumerated() {
      if line.allSatisfy({ $0 == 0x20 || $0 == 0x0d || $0 == 0x09 }) { continue }
      guard let value = try? JSONParser.parse([UInt8](line)),
        let index = value["episode_index"]?.numberValue
      else {
        throw SourceFileError.file(path, "line \(number + 1) is not an episode object with episode_index")
      }
      let episode = Int(index)
      let chunk = episode / info.chunksSize
      let values = ["episode_chunk": chunk, "episode_index": episode, "chunk_index": chunk]
      var videos: [String: Video] = [:]
      if let template = info.videoPath {
        for key in info.cameraKeys where info.features[key]?.dtype == "video" {
          videos[key] = Video(path: LeRobotInfo.fill(template, values, videoKey: key), offset: 0)
        }
      }
      entries.append(
        LeRobotEpisodeEntry(
          index: episode, tasks: (value["tasks"]?.arrayValue ?? []).compactMap(\.stringValue),
          length: value["length"]?.numberValue.map { Int($0) },
          dataFile: LeRobotInfo.fill(info.dataPath, values), videos: videos))
    }
    return entries
  }

  private static func loadV3(root: String, info: LeRobotInfo) throws -> [LeRobotEpisodeEntry] {
    let directory = root + "/meta/episodes"
    let files = (FileManager.default.enumerator(atPath: directory)?.allObjects as? [String] ?? [])
      .filter { $0.hasSuffix(".parquet") }.sorted()
    guard !files.isEmpty else {
      throw SourceFileError.file("meta/episodes/", "has no parquet files; v3 datasets list their episodes there")
    }
    var entries: [LeRobotEpisodeEntry] = []
    for file in files {
      let relative = "meta/episodes/" + file
      let table = try LeRobotTable(root: root, path: relative)
      let indices = try table.integers("episode_index")
      let dataChunks = try table.integers("data/chunk_index")
      let dataFiles = try table.integers("data/file_index")
      let lengths = try table.optionalIntegers("length")
      let tasks = try table.optionalStringLists("tasks")
      var videoColumns: [String: (chunks: [Int], files: [Int], offsets: [Double])] = [:]
      if info.videoPath != nil {
        for key in info.cameraKeys where info.features[key]?.dtype == "video" {
          let prefix = "videos/\(key)/"
          guard table.has(prefix + "chunk_index") else { continue }
          videoColumns[key] = (
            try table.integers(prefix + "chunk_index"), try table.integers(prefix + "file_index"),
            try table.doubles(prefix + "from_timestamp")
          )
        }
      }
      for row in 0..<indices.count {
        var videos: [String: Video] = [:]
        for (key, columns) in videoColumns {
          let values = ["chunk_index": columns.chunks[row], "file_index": columns.files[row]]
          videos[key] = Video(
            path: LeRobotInfo.fill(info.videoPath ?? "", values, videoKey: key),
            offset: columns.offsets[row])
        }
        entries.append(
          LeRobotEpisodeEntry(
            index: indices[row], tasks: tasks?[row] ?? [], length: lengths?[row],
            dataFile: LeRobotInfo.fill(
              info.dataPath, ["chunk_index": dataChunks[row], "file_index": dataFiles[row]]),
            videos: videos))
      }
    }
    return entries
  }
}
