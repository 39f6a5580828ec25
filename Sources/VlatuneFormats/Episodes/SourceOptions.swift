import VlatuneSupport

/// Settings of `dataset prepare` that shape how RLDS and HDF5 sources become episodes.
package struct SourceOptions {
  /// Cameras to take, in order (`nil`: all, sorted).
  package var cameraMap: CameraMap?
  /// Control frequency for sources that do not record one.
  package var fps: Double?
  /// The instruction for episodes whose source has none (or to override it).
  package var instruction: String?
  /// Drop OpenVLA-style no-op steps.
  package var dropNoops = false
  /// robomimic mask to take demos from.
  package var filterKey: String?
  /// Source camera keys whose frames are turned 180°.
  package var rotate180: Set<String> = []
  /// Flip the gripper action into this convention (`open1` or `close1`).
  package var gripperConvention: String?
  /// The gripper dimension (`--gripper-dim`).
  package var gripperDim: GripperDimension = .auto
  /// The key holding the actions (`--action-key`; `nil`: the format's default).
  package var actionKey: String?
  /// The keys concatenated into the state (`--state-keys`; `nil`: the format's default).
  package var stateKeys: [String]?

  package init() {}
}

/// `--gripper-convention`: flips the gripper action between OpenVLA's convention (1 = open) and
/// openpi's (1 = closed). The source is assumed to use the other one; a source gripper in
/// [-1, 1] (LIBERO's raw −1 open / +1 close) is rescaled to [0, 1] first, as OpenVLA's LIBERO
/// transform does (`1 - clip(a, 0, 1)` for ±1 values).
enum GripperConversion {
  /// Converts every episode's gripper dimension; returns a warning saying what was done.
  static func apply(_ options: SourceOptions, to inventory: inout SourceInventory) throws {
    guard let target = options.gripperConvention, let first = inventory.episodes.first else { return }
    let dimension: Int
    switch options.gripperDim {
    case .index(let index): dimension = index
    case .auto, .none: dimension = first.actionDim - 1
    }
    guard dimension >= 0, inventory.episodes.allSatisfy({ dimension < $0.actionDim }) else {
      throw VlatuneError.invalidArgument(
        param: "--gripper-convention",
        message: "the gripper dimension \(dimension) is outside the actions; set --gripper-dim")
    }
    var minimum = Double.infinity
    for episode in inventory.episodes {
      for step in 0..<episode.stepCount {
        minimum = min(minimum, episode.actions[step * episode.actionDim + dimension])
      }
    }
    let signed = minimum < 0
    for index in inventory.episodes.indices {
      var episode = inventory.episodes[index]
      for step in 0..<episode.stepCount {
        let slot = step * episode.actionDim + dimension
        let unit = signed ? (episode.actions[slot] + 1) / 2 : episode.actions[slot]
        episode.actions[slot] = 1 - max(0, min(1, unit))
      }
      inventory.episodes[index] = episode.keepingSteps(Array(0..<episode.stepCount))
    }
    inventory.diagnostics.append(
      Diagnostic(
        .warning, code: "gripper_converted",
        message: "action[\(dimension)] flipped into \(target) (1 = \(target == "open1" ? "open" : "closed"))"
          + (signed ? " after rescaling [-1, 1] to [0, 1]" : ""),
        field: "action[\(dimension)]"))
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
    result.numericDigest = EpisodeRecord.numericDigest(actions: result.actions, states: result.states)
    return result
  }
}
