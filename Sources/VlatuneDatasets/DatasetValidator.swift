import VlatuneFormats
import VlatuneSupport

/// Cross-episode validation of pass 1's results (CONTRACT §6): consistent dimensions, fps and
/// cameras, timestamps increasing on the 1/fps grid, images present, duplicate episodes.
package struct DatasetValidator {
  /// The shape every episode must share, taken from the first episode.
  package struct Shape {
    var actionDim: Int
    var stateDim: Int
    var fps: Double
    var cameras: [String]
  }

  /// Validates `episodes` (sorted by name) against each other and the source's file list.
  package static func validate(_ episodes: [EpisodeRecord], files: PathSet?) -> (Shape?, [Diagnostic]) {
    var diagnostics: [Diagnostic] = []
    guard let reference = episodes.first(where: { $0.stepCount > 0 }) else {
      return (nil, diagnostics)
    }
    let shape = Shape(
      actionDim: reference.actionDim, stateDim: reference.stateDim, fps: reference.fps,
      cameras: reference.cameras)
    if shape.actionDim == 0 {
      diagnostics.append(
        Diagnostic(
          .error, code: "dim_mismatch", message: "actions are empty; each step needs an action",
          episode: reference.name, step: 0, field: "action"))
    }
    var seen: [String: String] = [:]
    for episode in episodes where episode.stepCount > 0 {
      diagnostics += checkShape(episode, against: shape, reference: reference.name)
      diagnostics += checkTimestamps(episode)
      diagnostics += checkMagnitudes(episode)
      if let files { diagnostics += checkImages(episode, files: files) }
      if let original = seen[episode.numericDigest] {
        diagnostics.append(
          Diagnostic(
            .warning, code: "duplicate_episode",
            message: "same actions and states as episode \(original); drop one if it was "
              + "recorded twice", episode: episode.name))
      } else {
        seen[episode.numericDigest] = episode.name
      }
    }
    return (shape, diagnostics)
  }

  private static func checkShape(
    _ episode: EpisodeRecord, against shape: Shape, reference: String
  ) -> [Diagnostic] {
    var found: [Diagnostic] = []
    if episode.actionDim != shape.actionDim {
      found.append(
        Diagnostic(
          .error, code: "dim_mismatch",
          message: "action has \(episode.actionDim) values, expected \(shape.actionDim) as in "
            + "episode \(reference)", episode: episode.name, step: 0, field: "action"))
    }
    if episode.stateDim != shape.stateDim {
      found.append(
        Diagnostic(
          .error, code: "dim_mismatch",
          message: "state has \(episode.stateDim) values, expected \(shape.stateDim) as in "
            + "episode \(reference)", episode: episode.name, step: 0, field: "state"))
    }
    if episode.fps != shape.fps {
      found.append(
        Diagnostic(
          .error, code: "fps_mismatch",
          message: "fps is \(episode.fps), expected \(shape.fps) as in episode \(reference); "
            + "resample the episode or prepare it separately", episode: episode.name,
          field: "meta.json:fps"))
    }
    if episode.cameras != shape.cameras {
      found.append(
        Diagnostic(
          .error, code: "camera_mismatch",
          message: "cameras are \(episode.cameras), expected \(shape.cameras) as in episode "
            + "\(reference)", episode: episode.name, field: "meta.json:cameras"))
    }
    return found
  }

  /// The largest magnitude an action or state value may have: beyond it the statistics (sums of
  /// squares over every step) would overflow, and no robot reports such numbers in any unit.
  static let maximumMagnitude = 1e15

  /// Finite values too large for the statistics (±1.797e308 made them infinite).
  private static func checkMagnitudes(_ episode: EpisodeRecord) -> [Diagnostic] {
    var found: [Diagnostic] = []
    for (field, values, width) in [
      ("action", episode.actions, episode.actionDim), ("state", episode.states, episode.stateDim),
    ] where width > 0 {
      for (index, value) in values.enumerated() where value.isFinite && abs(value) > maximumMagnitude {
        found.append(
          Diagnostic(
            .error, code: "value_out_of_range",
            message: "\(field)[\(index % width)] is \(value), beyond ±1e15; check the units or drop "
              + "this step", episode: episode.name, step: index / width, field: "\(field)[\(index % width)]"))
        if found.count == ValidationLimits.errorsPerKind { return found }
      }
    }
    return found
  }

  private static func checkTimestamps(_ episode: EpisodeRecord) -> [Diagnostic] {
    var found: [Diagnostic] = []
    let period = 1 / episode.fps
    var counts: [String: Int] = [:]
    func add(_ code: String, _ message: String, _ step: Int) {
      counts[code, default: 0] += 1
      guard counts[code]! <= ValidationLimits.errorsPerKind else { return }
      found.append(
        Diagnostic(
          .error, code: code, message: message, episode: episode.name, step: step,
          field: "timestamp"))
    }
    let times = episode.timestamps
    guard times.count > 1 else { return found }
    for step in 1..<times.count where times[step].isFinite && times[step - 1].isFinite {
      let delta = times[step] - times[step - 1]
      if delta <= 0 {
        add(
          "timestamp_not_increasing",
          "timestamp \(times[step]) is not after the previous step's \(times[step - 1])", step)
      } else if abs(delta - period) > ValidationLimits.timestampTolerance {
        add(
          "timestamp_off_grid",
          "timestamp \(times[step]) is \(delta) s after the previous step; at \(episode.fps) fps "
            + "steps must be \(period) s apart (±\(ValidationLimits.timestampTolerance) s)", step)
      }
    }
    return found
  }

  private static func checkImages(_ episode: EpisodeRecord, files: PathSet) -> [Diagnostic] {
    var found: [Diagnostic] = []
    let cameras = max(episode.cameras.count, 1)
    var missing = 0
    for (slot, path) in episode.imagePaths.enumerated() where !path.isEmpty {
      guard !files.contains(path) else { continue }
      missing += 1
      if missing <= ValidationLimits.errorsPerKind {
        found.append(
          Diagnostic(
            .error, code: "missing_image",
            message: "image file '\(path)' does not exist in the source", episode: episode.name,
            step: slot / cameras, field: "images.\(episode.cameras[slot % cameras])"))
      }
    }
    return found
  }
}
