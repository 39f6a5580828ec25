import Foundation
import VlatuneArchive
import VlatuneSupport

/// Writes the package's shards: POSIX tar files in WebDataset layout, one sample per step, rolled
/// over at a target size, one series per split (`shards/train-000000.tar`, `shards/val-…`).
///
/// A sample's files share the key `e<episode>_s<step>`: `<key>.json` (episode, step, action,
/// state, timestamp, instruction) and `<key>.<camera>.<jpg|png>` with the image bytes unchanged.
final class ShardSetWriter {
  private struct OpenShard {
    var writer: TarShardWriter
    var relativePath: String
    var samples: Int
  }

  private let directory: String
  private let targetBytes: Int64
  private var open: [String: OpenShard] = [:]
  private var nextNumber: [String: Int] = [:]
  private(set) var shards: [DatasetDocument.Shard] = []
  private(set) var bytesWritten: Int64 = 0

  /// - Parameters:
  ///   - directory: The package directory (shards go to its `shards/` folder).
  ///   - targetBytes: A shard is closed once it reaches this size.
  init(directory: String, targetBytes: Int64) throws {
    self.directory = directory
    self.targetBytes = targetBytes
    do {
      try FileManager.default.createDirectory(
        atPath: directory + "/shards", withIntermediateDirectories: true)
    } catch {
      throw VlatuneError.ioFailure(path: directory + "/shards", message: "\(error)")
    }
  }

  /// Appends one sample's files to the current shard of `split`.
  func add(files: [(name: String, bytes: [UInt8])], split: String) throws {
    let size = files.reduce(Int64(0)) { $0 + Int64($1.bytes.count) + 1024 }
    if let current = open[split], current.samples > 0,
      current.writer.bytesWritten + size > targetBytes
    {
      try close(split)
    }
    var shard = try open[split] ?? start(split)
    do {
      for file in files { try shard.writer.addFile(name: file.name, bytes: file.bytes) }
    } catch let error as ArchiveError {
      throw VlatuneError.ioFailure(path: error.path, message: error.message)
    }
    shard.samples += 1
    open[split] = shard
  }

  /// Closes every open shard.
  func finish() throws {
    for split in open.keys.sorted() { try close(split) }
  }

  private func start(_ split: String) throws -> OpenShard {
    let number = nextNumber[split, default: 0]
    nextNumber[split] = number + 1
    let relative = "shards/\(split)-\(String(format: "%06d", number)).tar"
    do {
      let writer = try TarShardWriter(path: directory + "/" + relative)
      return OpenShard(writer: writer, relativePath: relative, samples: 0)
    } catch let error as ArchiveError {
      throw VlatuneError.ioFailure(path: error.path, message: error.message)
    }
  }

  private func close(_ split: String) throws {
    guard let shard = open.removeValue(forKey: split) else { return }
    let result: (bytes: Int64, sha256: String)
    do {
      result = try shard.writer.finish()
    } catch let error as ArchiveError {
      throw VlatuneError.ioFailure(path: error.path, message: error.message)
    }
    bytesWritten += result.bytes
    shards.append(
      DatasetDocument.Shard(
        path: shard.relativePath, split: split, sha256: result.sha256, bytes: result.bytes,
        samples: shard.samples))
  }
}
