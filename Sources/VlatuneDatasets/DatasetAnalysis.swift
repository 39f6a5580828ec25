import VlatuneFormats
import VlatuneSupport

/// Pass 1's conclusions: parsed and validated episodes, statistics, mask and split.
struct DatasetAnalysis {
  /// Episodes sorted by name; their position is the episode index in the package.
  var episodes: [EpisodeRecord]
  /// `train` or `val` for each episode.
  var splits: [String]
  /// The shared shape.
  var shape: DatasetValidator.Shape
  /// Exact statistics with the action mask.
  var statistics: DatasetStatistics
  /// The gripper dimension excluded from normalization.
  var gripperDim: Int?
  /// Warnings so far (errors are thrown).
  var diagnostics: [Diagnostic]
  /// Distinct instructions in episode order.
  var instructions: [String]

  /// The smallest range (max − min, or q99 − q01) a dimension needs to be normalized.
  static let minimumRange = 1e-6

  static func analyze(_ inventory: SourceInventory, request: PrepareRequest, name: String) throws
    -> DatasetAnalysis
  {
    var diagnostics = inventory.diagnostics
    var episodes = inventory.episodes
    episodes.sort { $0.name < $1.name }
    let (shape, found) = DatasetValidator.validate(episodes, files: inventory.files)
    diagnostics += found
    try throwIfErrors(diagnostics, name: name)
    guard let shape else {
      throw VlatuneError.invalidDataset(
        message: "dataset '\(name)' has no usable episodes", findings: diagnostics)
    }
    diagnostics += ActionLeakCheck.diagnostics(episodes, shape: shape, keys: inventory.keys)
    try throwIfErrors(diagnostics, name: name)

    let actions = episodes.map(\.actions)
    let transitions = episodes.reduce(0) { $0 + $1.stepCount }
    var actionStats = VectorStatistics.compute(blocks: actions, dimension: shape.actionDim)
    let proprio =
      shape.stateDim > 0
      ? VectorStatistics.compute(blocks: episodes.map(\.states), dimension: shape.stateDim)
      : VectorStatistics.zeros(dimension: shape.actionDim)
    let gripperDim = try resolveGripper(request.gripperDim, actions: actions, shape: shape)
    if request.gripperDim == .auto && gripperDim == nil {
      diagnostics += gripperHints(actions, shape: shape)
    }
    var mask: [Bool] = []
    for dim in 0..<shape.actionDim {
      let range = actionStats.max[dim] - actionStats.min[dim]
      let core = actionStats.q99[dim] - actionStats.q01[dim]
      if dim == gripperDim {
        mask.append(false)
      } else if range < minimumRange {
        mask.append(false)
        diagnostics.append(
          Diagnostic(
            .warning, code: "constant_dimension",
            message: "action[\(dim)] is constant (\(actionStats.min[dim])); it is masked and "
              + "not normalized", field: "action[\(dim)]"))
      } else if core < minimumRange {
        mask.append(false)
        diagnostics.append(
          Diagnostic(
            .warning, code: "near_constant_dimension",
            message: "action[\(dim)] has q01 = q99 = \(actionStats.q01[dim]) (rarely used); it "
              + "is masked because q01/q99 normalization would divide by ~0",
            field: "action[\(dim)]"))
      } else {
        mask.append(true)
      }
    }
    actionStats.mask = mask
    if shape.stateDim > 0 {
      for dim in 0..<shape.stateDim where proprio.max[dim] - proprio.min[dim] < minimumRange {
        diagnostics.append(
          Diagnostic(
            .warning, code: "constant_dimension",
            message: "state[\(dim)] is constant (\(proprio.min[dim])); consider dropping it",
            field: "state[\(dim)]"))
      }
    }
    let validation = EpisodeSplitter.validationIndices(
      count: episodes.count, fraction: request.valFraction, seed: request.seed)
    if request.valFraction > 0 && validation.isEmpty {
      diagnostics.append(
        Diagnostic(
          .warning, code: "no_validation_split",
          message: "only \(episodes.count) episode(s): no validation split was made"))
    }
    var instructions: [String] = []
    for episode in episodes where !instructions.contains(episode.instruction) {
      instructions.append(episode.instruction)
    }
    return DatasetAnalysis(
      episodes: episodes,
      splits: episodes.indices.map { validation.contains($0) ? "val" : "train" },
      shape: shape,
      statistics: DatasetStatistics(
        action: actionStats, proprio: proprio, numTransitions: transitions,
        numTrajectories: episodes.count),
      gripperDim: gripperDim, diagnostics: diagnostics, instructions: instructions)
  }

  /// `sha256:` over every episode's name, metadata digest and image digest, in name order.
  func sourceFingerprint(imageDigests: [String]) -> String {
    let hasher = SHA256Hasher()
    for (episode, images) in zip(episodes, imageDigests) {
      hasher.update("\(episode.name)\u{0}\(episode.metadataDigest)\u{0}\(images)\n")
    }
    return "sha256:" + hasher.hexDigest()
  }

  private static func throwIfErrors(_ diagnostics: [Diagnostic], name: String) throws {
    let errors = diagnostics.filter { $0.severity == .error }
    if !errors.isEmpty {
      throw VlatuneError.invalidDataset(
        message: "dataset '\(name)' failed validation; nothing was registered", findings: errors)
    }
  }

  /// With `--gripper-dim auto` finding none: dimensions that take 2 or 3 distinct values in
  /// [-1, 1] over at least 10 steps look like a gripper command; a warning names them and the flag.
  private static func gripperHints(_ actions: [[Double]], shape: DatasetValidator.Shape) -> [Diagnostic] {
    guard actions.reduce(0, { $0 + $1.count }) >= 10 * shape.actionDim else { return [] }
    var hints: [Diagnostic] = []
    for dim in 0..<shape.actionDim {
      var values: Set<Double> = []
      var few = true
      for block in actions where few {
        for row in stride(from: dim, to: block.count, by: shape.actionDim) {
          values.insert(block[row])
          if values.count > 3 || abs(block[row]) > 1 {
            few = false
            break
          }
        }
      }
      guard few, values.count >= 2 else { continue }
      let shown = values.sorted().map { "\($0)" }.joined(separator: ", ")
      hints.append(
        Diagnostic(
          .warning, code: "gripper_hint",
          message: "action[\(dim)] takes only the values \(shown): if it is the gripper, pass "
            + "--gripper-dim \(dim) to keep it out of normalization", field: "action[\(dim)]"))
    }
    return hints
  }

  private static func resolveGripper(
    _ setting: GripperDimension, actions: [[Double]], shape: DatasetValidator.Shape
  ) throws -> Int? {
    switch setting {
    case .none:
      return nil
    case .index(let index):
      guard index < shape.actionDim else {
        throw VlatuneError.invalidArgument(
          param: "--gripper-dim",
          message: "must be below the action dimension \(shape.actionDim) (or auto/none), "
            + "got \(index)")
      }
      return index
    case .auto:
      let last = shape.actionDim - 1
      var values: Set<Double> = []
      for block in actions {
        for row in stride(from: last, to: block.count, by: shape.actionDim) {
          values.insert(block[row])
          if values.count > 2 { return nil }
        }
      }
      return values.count == 2 ? last : nil
    }
  }
}
