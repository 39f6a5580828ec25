import Foundation
import VlatuneSupport

/// The task strings of a LeRobotDataset by `task_index`: `meta/tasks.jsonl` (v2) or
/// `meta/tasks.parquet` (v3, the task string being the pandas index).
package enum LeRobotTasks {
  package static func load(root: String, info: LeRobotInfo) throws -> [Int: String] {
    switch info.layout {
    case .v2: return try loadJSONLines(root: root)
    case .v3: return try loadParquet(root: root)
    }
  }

  private static func loadJSONLines(root: String) throws -> [Int: String] {
    let path = "meta/tasks.jsonl"
    guard let bytes = FileManager.default.contents(atPath: root + "/" + path) else {
      throw SourceFileError.file(path, "is missing; v2 datasets keep their task strings there")
    }
    var tasks: [Int: String] = [:]
    for (number, line) in bytes.split(separator: UInt8(ascii: "\n")).enumerated() {
      if line.allSatisfy({ $0 == 0x20 || $0 == 0x0d || $0 == 0x09 }) { continue }
      guard let value = try? JSONParser.parse([UInt8](line)),
        let index = value["task_index"]?.numberValue, let task = value["task"]?.stringValue
      else {
        throw SourceFileError.file(path, "line \(number + 1) needs task_index and task")
      }
      tasks[Int(index)] = task
    }
    return tasks
  }

  /// v3: `task_index` plus the pandas index column, which pandas names `task` or
  /// `__index_level_0__` and records in the `pandas` schema metadata.
  private static func loadParquet(root: String) throws -> [Int: String] {
    let path = "meta/tasks.parquet"
    guard FileManager.default.fileExists(atPath: root + "/" + path) else {
      throw SourceFileError.file(path, "is missing; v3 datasets keep their task strings there")
    }
    let table = try LeRobotTable(root: root, path: path)
    var candidates: [String] = []
    if let pandas = table.file.metadata.keyValues["pandas"],
      let value = try? JSONParser.parse(pandas),
      let indexColumns = value["index_columns"]?.arrayValue
    {
      candidates += indexColumns.compactMap(\.stringValue)
    }
    candidates += ["task", "__index_level_0__"]
    guard let taskColumn = candidates.first(where: { table.has($0) }) else {
      throw SourceFileError.file(
        path,
        "has no task strings: expected them as the pandas index (column 'task' or "
          + "'__index_level_0__'); rewrite it with DataFrame.to_parquet as LeRobot does")
    }
    let strings = try table.strings(taskColumn)
    let indices = try table.optionalIntegers("task_index") ?? Array(strings.indices)
    return Dictionary(zip(indices, strings), uniquingKeysWith: { first, _ in first })
  }
}
