import Foundation
import VlatuneSupport

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
    guard
      let output = nvidiaSMI(["--query-gpu=memory.total", "--format=csv,noheader,nounits"], environment: environment)
    else { return nil }
    let sizes = output.split(separator: "\n").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    return sizes.min().map { $0 << 20 }
  }

  /// `nvidia-smi`'s standard output, or `nil` when it is absent or fails.
  static func nvidiaSMI(_ arguments: [String], environment: [String: String]) -> String? {
    guard let result = try? CommandRunner.run("nvidia-smi", arguments, environment: environment),
      result.status == 0
    else { return nil }
    return result.output
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
