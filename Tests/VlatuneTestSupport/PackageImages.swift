import Foundation

/// The cell means of every image in a prepared package, decoded by Pillow
/// (`Tests/Fixtures/package_images.py`): by episode name and camera key, per step the mean RGB
/// of each cell of a 4 × 4 grid (48 values), the measure of the generators' `image_cell_means`.
public enum PackageImages {
  public typealias Means = [String: [String: [[Double]]]]

  /// Reads the package at `path`.
  public static func means(_ path: String) throws -> Means {
    guard let python = TestPaths.python else { throw FixtureError(message: "no Python") }
    let script = TestPaths.repository.appendingPathComponent("Tests/Fixtures/package_images.py")
    let result = try ProcessRunner.run(python, [script.path, path])
    guard result.status == 0,
      let top = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any],
      let episodes = top["episodes"] as? [String: [String: [[Double]]]],
      let names = top["names"] as? [String: String]
    else {
      throw FixtureError(message: "package_images.py \(path): \(result.standardError)")
    }
    var byName: Means = [:]
    for (index, cameras) in episodes { byName[names[index] ?? index] = cameras }
    return byName
  }

  /// What differs between the package at `path` and `expected` (episode name → camera → the
  /// source's cell means per step): one line per episode or camera missing from the package
  /// and per camera whose frames are not ``sameFrames(_:_:tolerance:)``; empty when all match.
  public static func mismatches(_ path: String, expected: Means, tolerance: Double) throws -> [String] {
    let means = try means(path)
    var problems: [String] = []
    for (name, cameras) in expected.sorted(by: { $0.key < $1.key }) {
      if cameras.isEmpty { problems.append("\(name): the expectation has no cameras") }
      for (camera, frames) in cameras.sorted(by: { $0.key < $1.key }) {
        guard let mine = means[name]?[camera] else {
          problems.append("\(name) \(camera): not in the package")
          continue
        }
        if !sameFrames(mine, frames, tolerance: tolerance) { problems.append("\(name) \(camera): other frames") }
      }
    }
    return problems
  }

  /// Whether each of `mine` is within `tolerance` of the reference frame at the same step in
  /// every value, and nearer to it than to any other reference frame of the episode (so a
  /// frame taken from the wrong step fails even when the frames look alike).
  public static func sameFrames(_ mine: [[Double]], _ reference: [[Double]], tolerance: Double) -> Bool {
    guard mine.count == reference.count else { return false }
    func distance(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) }
    for (step, frame) in mine.enumerated() {
      guard frame.count == reference[step].count,
        zip(frame, reference[step]).allSatisfy({ abs($0 - $1) <= tolerance })
      else { return false }
      let own = distance(frame, reference[step])
      let nearest = reference.indices.min { distance(frame, reference[$0]) < distance(frame, reference[$1]) }
      if let nearest, nearest != step, distance(frame, reference[nearest]) < own { return false }
    }
    return true
  }
}
