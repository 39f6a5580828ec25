import Foundation
import VlatuneSupport

/// The TFRecord shards of a TFDS dataset's `train` split, as its `dataset_info.json` lists them
/// (`splits[].shardLengths`, `filepathTemplate`, the dataset's `name` and `fileFormat`), with the
/// number of records each must hold; without a `dataset_info.json`, the `*-train.tfrecord*`
/// files in the directory (every `.tfrecord*` file when none is named for a split).
struct RLDSSplit {
  /// Shard file names, in shard order.
  var files: [String]
  /// Records per shard as `dataset_info.json` lists them (`nil` without one).
  var recordCounts: [Int]?

  /// TFDS's default shard name template.
  static let defaultTemplate = "{DATASET}-{SPLIT}.{FILEFORMAT}-{SHARD_X_OF_Y}"

  /// The train split of the dataset in `directory`.
  static func train(in directory: String) throws -> RLDSSplit {
    let infoPath = directory + "/dataset_info.json"
    guard let bytes = FileManager.default.contents(atPath: infoPath) else {
      return try RLDSSplit(files: glob(directory), recordCounts: nil)
    }
    guard let info = try? JSONParser.parse([UInt8](bytes)) else {
      throw SourceFileError.file("dataset_info.json", "is not JSON")
    }
    guard let splits = info["splits"]?.arrayValue, !splits.isEmpty else {
      return try RLDSSplit(files: glob(directory), recordCounts: nil)
    }
    guard let train = splits.first(where: { $0["name"]?.stringValue == "train" }) else {
      let names = splits.compactMap { $0["name"]?.stringValue }
      throw SourceFileError.file(
        "dataset_info.json", "has no 'train' split (splits: \(names.joined(separator: ", ")))")
    }
    let lengths = (train["shardLengths"]?.arrayValue ?? []).map { value in
      value.stringValue.flatMap { Int($0) } ?? value.numberValue.map { Int($0) } ?? -1
    }
    guard !lengths.isEmpty, lengths.allSatisfy({ $0 >= 0 }) else {
      throw SourceFileError.file(
        "dataset_info.json", "split 'train' has no valid shardLengths (records per shard)")
    }
    guard let name = info["name"]?.stringValue, !name.isEmpty else {
      throw SourceFileError.file("dataset_info.json", "has no dataset 'name' to name the shards by")
    }
    let template = train["filepathTemplate"]?.stringValue ?? defaultTemplate
    let format = info["fileFormat"]?.stringValue ?? "tfrecord"
    guard format == "tfrecord" else {
      throw SourceFileError.file(
        "dataset_info.json",
        "has fileFormat '\(format)'; vlatune reads TFRecord shards only "
          + "(rebuild the dataset with TFDS's default file format)")
    }
    let files = lengths.indices.map { index in
      template.replacingOccurrences(of: "{DATASET}", with: name)
        .replacingOccurrences(of: "{SPLIT}", with: "train")
        .replacingOccurrences(of: "{FILEFORMAT}", with: format)
        .replacingOccurrences(
          of: "{SHARD_X_OF_Y}", with: String(format: "%05d-of-%05d", index, lengths.count)
        )
        .replacingOccurrences(of: "{SHARD_INDEX}", with: String(format: "%05d", index))
        .replacingOccurrences(of: "{NUM_SHARDS}", with: String(format: "%05d", lengths.count))
    }
    for file in files where FileIO.kind(directory + "/" + file) != .regular {
      throw SourceFileError.file(
        file,
        "is listed in dataset_info.json (train split) but missing; copy the whole "
          + "<name>/<version>/ directory")
    }
    return RLDSSplit(files: files, recordCounts: lengths)
  }

  /// The train shards by name, for datasets without a `dataset_info.json`.
  private static func glob(_ directory: String) throws -> [String] {
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
      .filter { $0.contains(".tfrecord") }.sorted()
    let train = names.filter { $0.contains("-train.tfrecord") }
    let chosen = train.isEmpty ? names : train
    guard !chosen.isEmpty else {
      throw SourceFileError.file(directory, "holds no .tfrecord files")
    }
    return chosen
  }
}
