import Foundation
import Testing

@testable import VlatuneArchive
@testable import VlatuneCore
@testable import VlatuneDatasets
@testable import VlatuneFormats
@testable import VlatuneGuardrails
@testable import VlatuneJobs
@testable import VlatuneStore
@testable import VlatuneSupport

/// The rule of ``ActionLeakCheck``: exact equality on every step, with the action itself or the
/// next step's action; previous actions, scaled copies and constant dimensions are not leaks.
struct ActionLeakCheckTests {
  /// An episode of `steps` 2-d actions with the state built from them by `state`.
  private func episode(steps: Int, state: ([[Double]], Int) -> [Double]) -> EpisodeRecord {
    let actions = (0..<steps).map { [Double($0) * 0.3 + 0.1, sin(Double($0))] }
    let states = (0..<steps).flatMap { state(actions, $0) }
    return EpisodeRecord(
      name: "e", directory: "", instruction: "x", fps: 10, cameras: [], stepCount: steps, actionDim: 2,
      stateDim: states.count / steps, actions: actions.flatMap { $0 }, states: states,
      timestamps: (0..<steps).map { Double($0) / 10 }, imagePaths: [], metadataDigest: "", numericDigest: "")
  }

  @Test func theActionItselfIsFound() {
    let copies = ActionLeakCheck.copies(
      [episode(steps: 6) { actions, t in [5, actions[t][1]] }], stateDim: 2, actionDim: 2)
    #expect(copies == [.init(state: 1, action: 1, relation: .same)])
  }

  @Test func theNextActionIsFound() {
    let copies = ActionLeakCheck.copies(
      [episode(steps: 6) { actions, t in [actions[min(t + 1, 5)][0]] }], stateDim: 1, actionDim: 2)
    #expect(copies == [.init(state: 0, action: 0, relation: .next)])
  }

  @Test func previousScaledAndConstantAreNotLeaks() {
    let previous = episode(steps: 6) { actions, t in [actions[max(t - 1, 0)][0], 2 * actions[t][1], 1.0] }
    #expect(ActionLeakCheck.copies([previous], stateDim: 3, actionDim: 2).isEmpty)
    // A constant action dimension carries nothing: a state equal to it is not flagged.
    var constant = episode(steps: 4) { _, _ in [0.5] }
    constant.actions = [0.5, 1, 0.5, 2, 0.5, 3, 0.5, 4]
    #expect(ActionLeakCheck.copies([constant], stateDim: 1, actionDim: 2).isEmpty)
  }

  @Test func oneEpisodeThatDiffersClearsTheDimension() {
    let leaking = episode(steps: 5) { actions, t in [actions[t][0]] }
    var honest = episode(steps: 5) { actions, t in [actions[t][0]] }
    honest.states[2] += 1e-9
    #expect(ActionLeakCheck.copies([leaking, honest], stateDim: 1, actionDim: 2).isEmpty)
    #expect(ActionLeakCheck.copies([leaking, leaking], stateDim: 1, actionDim: 2).count == 1)
  }
}
