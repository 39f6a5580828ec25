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
    guard let output = nvidiaSMI(["-L"], environment: environment) else { return 0 }
    return output.split(separator: "\n").filter { $0.hasPrefix("GPU ") }.count
  }

  /// Memory of the smallest GPU in bytes: `VLATUNE_GPU_MEMORY_MB` when set, else
  /// `nvidia-smi --query-gpu=memory.total`, else `nil` (no GPU or unknown).
  public static func memoryBytes(environment: [String: String]) -> Int? {
    if let configured = environment["VLATUNE_GPU_MEMORY_MB"], let value = Int(configured), value > 0 {
      return value << 20
    }
    guard let output = nvidiaSMI(["--query-gpu=memory.total", "--format=csv,noheader,nounits"], environment: environment)
    else { return nil }
    let sizes = output.split(separator: "\n").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    return sizes.min().map { $0 << 20 }
  }

  /// Runs `nvidia-smi` from `PATH`; its standard output, or `nil` when absent or failing.
  static func nvidiaSMI(_ arguments: [String], environment: [String: String]) -> String? {
    let path = (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
      .map { "\($0)/nvidia-smi" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    guard let path else { return nil }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return nil }
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { return nil }
    return String(decoding: output, as: UTF8.self)
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
