/// Settings of `dataset prepare` that shape how RLDS and HDF5 sources become episodes.
struct SourceOptions {
  /// Cameras to take, in order (`nil`: all, sorted).
  var cameraMap: CameraMap?
  /// Control frequency for sources that do not record one.
  var fps: Double?
  /// The instruction for episodes whose source has none (or to override it).
  var instruction: String?
  /// Drop OpenVLA-style no-op steps.
  var dropNoops = false
  /// robomimic mask to take demos from.
  var filterKey: String?
  /// Source camera keys whose frames are turned 180°.
  var rotate180: Set<String> = []

  init(_ request: PrepareRequest) {
    cameraMap = request.cameraMap
    fps = request.fps
    instruction = request.instruction
    dropNoops = request.dropNoops
    filterKey = request.filterKey
    rotate180 = Set(request.rotate180)
  }
}

/// OpenVLA's no-op rule (`regenerate_libero_dataset.py`): a step is a no-op when the arm part
/// of its action is ~zero (‖a[:-1]‖₂ < 1e-4) and the gripper (the last dimension) does not change
/// from the previous step; the first step is judged by the norm alone.
enum NoopFilter {
  static let threshold = 1e-4

  /// Indices of the steps to keep.
  static func keptSteps(actions: [Double], dimension: Int) -> [Int] {
    guard dimension > 0 else { return [] }
    let count = actions.count / dimension
    var kept: [Int] = []
    for step in 0..<count {
      let base = step * dimension
      var norm = 0.0
      for dim in 0..<(dimension - 1) { norm += actions[base + dim] * actions[base + dim] }
      let still = norm.squareRoot() < threshold
      let gripperSame = step == 0 || actions[base + dimension - 1] == actions[base - 1]
      if !(still && gripperSame) { kept.append(step) }
    }
    return kept
  }
}

extension EpisodeRecord {
  /// The record with only `steps` kept (timestamps renumbered on the fps grid).
  func keepingSteps(_ steps: [Int]) -> EpisodeRecord {
    var result = self
    func rows(_ values: [Double], _ width: Int) -> [Double] {
      guard width > 0 else { return [] }
      return steps.flatMap { values[($0 * width)..<(($0 + 1) * width)] }
    }
    result.actions = rows(actions, actionDim)
    result.states = rows(states, stateDim)
    result.stepCount = steps.count
    result.timestamps = (0..<steps.count).map { Double($0) / fps }
    let numeric = SHA256Hasher()
    result.actions.withUnsafeBytes { numeric.update($0) }
    result.states.withUnsafeBytes { numeric.update($0) }
    result.numericDigest = numeric.hexDigest()
    return result
  }
}
