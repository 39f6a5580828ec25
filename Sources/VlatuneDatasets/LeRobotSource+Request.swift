import VlatuneFormats
import VlatuneSupport

extension LeRobotSource {
  /// A dataset directory with the request's cameras and keys.
  convenience init(root: String, request: PrepareRequest) {
    self.init(root: root, cameraMap: request.cameraMap, skipIncomplete: request.skipIncomplete)
    actionKey = request.actionKey
    stateKeys = request.stateKeys
  }

  /// A dataset in an archive with the request's cameras and keys.
  convenience init(archive: String, scratchParent: String, request: PrepareRequest) {
    self.init(
      archive: archive, scratchParent: scratchParent, cameraMap: request.cameraMap,
      skipIncomplete: request.skipIncomplete)
    actionKey = request.actionKey
    stateKeys = request.stateKeys
  }

  /// Compares the dataset's own statistics with the exact ones vlatune computed.
  func review(_ statistics: DatasetStatistics, stateDim: Int) -> [Diagnostic] {
    guard let info else { return [] }
    guard let keys = try? info.keys(action: actionKey, state: stateKeys) else { return [] }
    // A state of several features has no declared statistics of its own.
    let stateKey = keys.state.count == 1 ? keys.state[0] : nil
    let declared = LeRobotDeclaredStatistics.load(
      root: root, keys: [keys.action] + (stateKey.map { [$0] } ?? []), episodes: includedIndices)
    var diagnostics: [Diagnostic] = []
    if let action = declared[keys.action] {
      diagnostics += action.disagreements(with: statistics.action, feature: keys.action, source: declared.source)
    }
    if stateDim > 0, let stateKey, let state = declared[stateKey] {
      diagnostics += state.disagreements(with: statistics.proprio, feature: stateKey, source: declared.source)
    }
    return diagnostics
  }
}
