import Foundation

/// How many GPUs this machine offers vlatune, and the per-GPU slot locks jobs hold while they run.
///
/// The count comes from `VLATUNE_GPU_COUNT` when set, else from `nvidia-smi -L`, else 0.
/// A slot is an `flock` on `$VLATUNE_HOME/gpus/<index>.lock`: the kernel releases it when the
/// holder dies, so no daemon is needed to hand GPUs to queued jobs.
public enum GPUInventory {
  /// The number of GPUs available.
  public static func count(environment: [String: String]) -> Int {
    if let configured = environment["VLATUNE_GPU_COUNT"], let value = Int(configured), value >= 0 {
      return value
    }
    let path = (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
      .map { "\($0)/nvidia-smi" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    guard let path else { return 0 }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = ["-L"]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return 0 }
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { return 0 }
    return String(decoding: output, as: UTF8.self).split(separator: "\n")
      .filter { $0.hasPrefix("GPU ") }.count
  }

  /// Tries to take `count` free slots out of `total`.
  ///
  /// - Returns: The held locks and their indices, or `nil` when fewer than `count` are free now.
  static func acquire(count: Int, total: Int, directory: String) throws -> [(Int, FileLock)]? {
    guard count > 0 else { return [] }
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    var held: [(Int, FileLock)] = []
    for index in 0..<total where held.count < count {
      if let lock = try FileLock.tryLock("\(directory)/\(index).lock") { held.append((index, lock)) }
    }
    return held.count == count ? held : nil
  }
}
