import VlatuneSupport

/// The per-frame numeric columns of one LeRobot data file (the action and state features,
/// `timestamp`, `episode_index`, `task_index`), turned into ``EpisodeRecord``s.
struct LeRobotFrameReader {
  let path: String
  let fps: Double
  private let episodeIndex: [Int]
  private let timestamps: [Double]
  private let taskIndex: [Int]?
  private let actionKey: String
  private let action: ParquetColumn
  /// The state features' columns, concatenated in this order.
  private let states: [(key: String, column: ParquetColumn)]
  /// Row ranges per episode, when contiguous; episodes split across the file are `nil`.
  private let episodeRows: [Int: Range<Int>?]
  /// The shapes `meta/info.json` declares for the action and state features.
  private let declaredShapes: [String: [Int]]

  var rowCount: Int { episodeIndex.count }

  init(table: LeRobotTable, info: LeRobotInfo, actionKey: String, stateKeys: [String]) throws {
    path = table.path
    fps = info.fps
    episodeIndex = try table.integers("episode_index")
    timestamps = try table.doubles("timestamp")
    taskIndex = try table.optionalIntegers("task_index")
    self.actionKey = actionKey
    action = try Self.numeric(table, actionKey)
    states = try stateKeys.map { key in
      guard table.has(key) else {
        throw SourceFileError.file(table.path, "has no column '\(key)' although meta/info.json lists the feature")
      }
      return (key, try Self.numeric(table, key))
    }
    for column in [action] + states.map(\.column) where column.rowCount != episodeIndex.count {
      throw SourceFileError.file(
        path, "column '\(column.leaf.path[0])' has \(column.rowCount) rows, the file \(episodeIndex.count)")
    }
    var rows: [Int: Range<Int>?] = [:]
    var start = 0
    while start < episodeIndex.count {
      var end = start + 1
      while end < episodeIndex.count && episodeIndex[end] == episodeIndex[start] { end += 1 }
      let episode = episodeIndex[start]
      rows[episode] = rows[episode] == nil ? start..<end : .some(nil)
      start = end
    }
    episodeRows = rows
    declaredShapes = ([actionKey] + stateKeys).reduce(into: [:]) { shapes, key in
      if let shape = info.features[key]?.shape, !shape.isEmpty { shapes[key] = shape }
    }
  }

  private static func numeric(_ table: LeRobotTable, _ field: String) throws -> ParquetColumn {
    let column = try table.column(field)
    guard column.isNumeric else {
      throw SourceFileError.file(
        table.path,
        "column '\(field)' holds \(ParquetLeaf.typeName(column.leaf.type)); it must hold numbers "
          + "(float32, float64 or integers)")
    }
    return column
  }

  /// The rows of an episode; `nil` when the file has none.
  ///
  /// - Throws: when the episode's rows are not contiguous.
  func rows(ofEpisode index: Int) throws -> Range<Int>? {
    guard let found = episodeRows[index] else { return nil }
    guard let rows = found else {
      throw SourceFileError.file(path, "holds the rows of episode \(index) in more than one run")
    }
    return rows
  }

  /// The episode's record, or `nil` with errors in `diagnostics`.
  func record(
    entry: LeRobotEpisodeEntry, rows: Range<Int>, tasks: [Int: String],
    cameras: [LeRobotSource.Camera], diagnostics: inout [Diagnostic]
  ) -> EpisodeRecord? {
    let name = entry.name
    func error(_ code: String, _ message: String, step: Int? = nil, field: String? = nil) {
      diagnostics.append(
        Diagnostic(.error, code: code, message: message, episode: name, step: step, field: field))
    }
    guard let instruction = instruction(entry: entry, rows: rows, tasks: tasks, diagnostics: &diagnostics)
    else {
      error(
        "missing_instruction",
        "no task for the episode: its task_index is not in the task table and meta lists no tasks",
        field: "task_index")
      return nil
    }
    var actionDim = 0
    guard let actions = vectors(action, rows: rows, field: actionKey, dim: &actionDim, error: error)
    else { return nil }
    var widths: [(String, Int)] = [(actionKey, actionDim)]
    var parts: [(values: [Double], width: Int)] = []
    for (key, column) in self.states {
      var width = 0
      guard let values = vectors(column, rows: rows, field: key, dim: &width, error: error) else { return nil }
      parts.append((values, width))
      widths.append((key, width))
    }
    let stateDim = parts.reduce(0) { $0 + $1.width }
    let states = RowConcatenation.rows(parts, count: rows.count)
    for (field, width) in widths where width > 0 {
      if let declared = declaredShapes[field], declared.reduce(1, *) != width {
        error(
          "shape_mismatch",
          "\(path): '\(field)' has \(width) values per frame but meta/info.json declares shape "
            + "\(declared); fix features.\(field).shape in meta/info.json (or the data)",
          field: field)
      }
    }
    let episodeTimestamps = Array(timestamps[rows])
    if rows.count < 2 {
      error(
        rows.isEmpty ? "empty_episode" : "one_step_episode",
        "the episode has \(rows.count) frame(s); an episode needs at least 2")
    }
    let numericDigest = EpisodeRecord.numericDigest(actions: actions, states: states)
    let metadata = SHA256Hasher()
    metadata.update("lerobot\u{0}\(path)\u{0}\(entry.index)\u{0}\(instruction)\u{0}\(numericDigest)\u{0}")
    episodeTimestamps.withUnsafeBytes { metadata.update($0) }
    let imagePaths = ImagePaths(
      rows.flatMap { row in
        cameras.map { camera in
          if let video = entry.videos[camera.key] {
            return "\(video.path) at \(video.offset + timestamps[row]) s"
          }
          return "\(path) row \(row) \(camera.key)"
        }
      })
    return EpisodeRecord(
      name: name, directory: "", instruction: instruction, fps: fps, cameras: cameras.map(\.slot),
      stepCount: rows.count, actionDim: actionDim, stateDim: stateDim, actions: actions,
      states: states, timestamps: episodeTimestamps, imagePaths: imagePaths,
      metadataDigest: metadata.hexDigest(), numericDigest: numericDigest)
  }

  /// The most frequent task of the episode's frames, else the first task meta lists.
  private func instruction(
    entry: LeRobotEpisodeEntry, rows: Range<Int>, tasks: [Int: String], diagnostics: inout [Diagnostic]
  ) -> String? {
    guard let taskIndex else { return entry.tasks.first }
    var counts: [Int: Int] = [:]
    for row in rows { counts[taskIndex[row], default: 0] += 1 }
    guard let (task, _) = counts.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) })
    else { return entry.tasks.first }
    if counts.count > 1 {
      diagnostics.append(
        Diagnostic(
          .warning, code: "several_tasks",
          message: "the episode's frames have \(counts.count) tasks; the most frequent "
            + "(task_index \(task)) is its instruction", episode: entry.name, field: "task_index"))
    }
    return tasks[task] ?? entry.tasks.first
  }

  /// One vector per row, all of one length, finite.
  private func vectors(
    _ column: ParquetColumn, rows: Range<Int>, field: String, dim: inout Int,
    error: (String, String, Int?, String?) -> Void
  ) -> [Double]? {
    let values = column.doubles
    var result: [Double] = []
    dim = rows.isEmpty ? 0 : column.range(ofRow: rows.lowerBound).count
    result.reserveCapacity(rows.count * dim)
    var problems = 0
    for row in rows {
      let range = column.range(ofRow: row)
      let step = row - rows.lowerBound
      if range.count != dim {
        problems += 1
        if problems <= ValidationLimits.errorsPerKind {
          error(
            "dim_mismatch", "\(field) has \(range.count) values, the episode's first frame \(dim)",
            step, field)
        }
        continue
      }
      for index in range {
        let value = values[index]
        if !value.isFinite {
          problems += 1
          if problems <= ValidationLimits.errorsPerKind {
            error(
              "non_finite", "\(field)[\(index - range.lowerBound)] is \(value)", step,
              "\(field)[\(index - range.lowerBound)]")
          }
        }
        result.append(value)
      }
    }
    if dim == 0 && !rows.isEmpty {
      error("dim_mismatch", "\(field) is empty; each frame needs one", 0, field)
      return nil
    }
    return problems == 0 ? result : nil
  }
}
