import VlatuneFormats
import VlatuneSupport

/// Finds state dimensions that are copies of the actions: a policy trained on such a state reads
/// its target from its input (a robomimic file whose `obs/` holds `obs/actions`).
///
/// The rule is exact equality on every step of every episode, which a recorded signal never
/// meets by chance: state[t][s] == action[t][a] (the action itself) or state[t][s] ==
/// action[t+1][a] for every t but the last (the next action). A state holding the *previous*
/// action (state[t] == action[t-1], a common proprioceptive input) is not flagged, nor is a
/// scaled or noisy copy. Action dimensions that are constant over the dataset carry nothing to
/// leak and are not compared.
package enum ActionLeakCheck {
  /// How a state dimension copies an action dimension.
  enum Relation: String {
    case same = "the action"
    case next = "the next step's action"
  }

  /// One copied dimension.
  struct Copy: Equatable {
    var state: Int
    var action: Int
    var relation: Relation
  }

  /// Every (state, action) pair equal on every step, for one relation or the other.
  static func copies(_ episodes: [EpisodeRecord], stateDim: Int, actionDim: Int) -> [Copy] {
    guard stateDim > 0, actionDim > 0, !episodes.isEmpty else { return [] }
    var minimum = [Double](repeating: .infinity, count: actionDim)
    var maximum = [Double](repeating: -.infinity, count: actionDim)
    for episode in episodes {
      for (index, value) in episode.actions.enumerated() {
        minimum[index % actionDim] = Swift.min(minimum[index % actionDim], value)
        maximum[index % actionDim] = Swift.max(maximum[index % actionDim], value)
      }
    }
    let varying = (0..<actionDim).filter { maximum[$0] > minimum[$0] }
    var same = Set(varying.flatMap { action in (0..<stateDim).map { $0 * actionDim + action } })
    var next = same
    // An episode whose rows are not all of the shared widths has its dim_mismatch error already.
    for episode in episodes
    where episode.stateDim == stateDim && episode.actionDim == actionDim
      && episode.states.count == episode.stepCount * stateDim
      && episode.actions.count == episode.stepCount * actionDim
    {
      let steps = episode.stepCount
      for step in 0..<steps where !same.isEmpty || !next.isEmpty {
        let stateRow = step * stateDim
        let actionRow = step * actionDim
        same = same.filter { pair in
          episode.states[stateRow + pair / actionDim] == episode.actions[actionRow + pair % actionDim]
        }
        if step + 1 < steps {
          next = next.filter { pair in
            episode.states[stateRow + pair / actionDim]
              == episode.actions[actionRow + actionDim + pair % actionDim]
          }
        }
      }
      if steps < 2 { next = [] }
    }
    let found =
      same.map { Copy(state: $0 / actionDim, action: $0 % actionDim, relation: .same) }
      + next.subtracting(same).map { Copy(state: $0 / actionDim, action: $0 % actionDim, relation: .next) }
    return found.sorted { ($0.state, $0.action) < ($1.state, $1.action) }
  }

  /// One error per source key (or per relation without keys) naming the copied dimensions and
  /// the way out.
  package static func diagnostics(_ episodes: [EpisodeRecord], shape: DatasetValidator.Shape, keys: SourceKeys?)
    -> [Diagnostic]
  {
    let found = copies(episodes, stateDim: shape.stateDim, actionDim: shape.actionDim)
    guard !found.isEmpty else { return [] }
    let groups = Dictionary(grouping: found) { "\(keys?.stateKey(of: $0.state) ?? "")\u{0}\($0.relation.rawValue)" }
    let kept = keys.map { keys in
      let leaking = Set(found.compactMap { keys.stateKey(of: $0.state) })
      return keys.state.map(\.key).filter { !leaking.contains($0) }
    }
    let fix: String
    if let keys, let kept {
      let others = keys.otherStateCandidates.filter { !kept.contains($0) }
      fix =
        "choose the state with --state-keys"
        + (kept.isEmpty ? "" : " (e.g. --state-keys \(kept.joined(separator: ",")))")
        + (others.isEmpty ? "" : "; other keys: \(others.joined(separator: ", "))")
    } else {
      fix = "remove those dimensions from the recorded state"
    }
    return groups.keys.sorted().map { group in
      let copies = groups[group] ?? []
      let key = group.split(separator: "\u{0}", omittingEmptySubsequences: false).first.map(String.init) ?? ""
      let pairs =
        copies.prefix(8).map { "state[\($0.state)] = action[\($0.action)]" }.joined(separator: ", ")
        + (copies.count > 8 ? ", … (\(copies.count) in all)" : "")
      let source = key.isEmpty ? "" : " (from \(key))"
      return Diagnostic(
        .error, code: copies[0].relation == .same ? "state_contains_action" : "state_contains_next_action",
        message: "\(copies.count) state dimension(s)\(source) equal \(copies[0].relation.rawValue) on "
          + "every step: \(pairs); a policy trained on this state reads its target from its input: \(fix)",
        field: "state[\(copies[0].state)]")
    }
  }
}
