import Foundation
import Testing
import VlatuneTestSupport

/// A symbolic link that leaves a directory source, in every directory format: refused (77)
/// naming the link and its target; with `--follow-links`, followed into the policy's
/// `dataset_roots` and still refused outside them (issue #23, item 2).
@Suite(.enabled(if: DatasetFixture.available), .serialized)
struct SymlinkSourcesCLITests {
  /// A dataset of `format` under `inside/`, with one of its files moved to `elsewhere/` and
  /// replaced by a link to it.
  static func linkedSource(_ format: String, in directory: TemporaryDirectory) throws -> (root: URL, link: String) {
    let inside = directory.appending("inside")
    let elsewhere = directory.appending("elsewhere")
    for folder in [inside, elsewhere] {
      try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    let root: URL
    switch format {
    case "episodes":
      root = try SampleData.copy(into: inside, name: "episodes", episodes: 3, steps: 10)
    case "lerobot":
      root = try DatasetFixture.make(in: inside, name: "lerobot", ["--version", "v2.1", "--episodes", "3"]).root
    case "rlds":
      root = try DatasetFixture.make("rlds", in: inside, name: "rlds", ["--episodes", "3"]).root
    default:
      root = try DatasetFixture.make("npz", in: inside, name: "npz", ["--episodes", "3"]).root
    }
    let relative: String
    switch format {
    case "episodes": relative = "episode_000/meta.json"
    case "lerobot": relative = "meta/info.json"
    case "rlds":
      let files = try #require(FileManager.default.subpaths(atPath: root.path))
      relative = try #require(files.sorted().first { $0.contains(".tfrecord") })
    default: relative = "episode_000.npz"
    }
    let moved = elsewhere.appendingPathComponent(format + "-" + (relative as NSString).lastPathComponent)
    try FileManager.default.moveItem(at: root.appendingPathComponent(relative), to: moved)
    try FileManager.default.createSymbolicLink(
      atPath: root.appendingPathComponent(relative).path, withDestinationPath: moved.path)
    return (root, relative)
  }

  static func runner(_ directory: TemporaryDirectory, roots: [URL]) throws -> VlatuneRunner {
    let policy = """
      version: 1
      tools:
        prepare_dataset:
          rules: [{action: allow}]
      limits:
        dataset_roots: [\(roots.map { "\"\($0.path)\"" }.joined(separator: ", "))]
      """
    let path = directory.appending("policy-\(roots.count).yaml")
    try policy.write(to: path, atomically: true, encoding: .utf8)
    var runner = VlatuneRunner(home: directory.appending("home"))
    runner.environment["VLATUNE_POLICY"] = path.path
    return runner
  }

  @Test(arguments: ["episodes", "lerobot", "rlds", "npz"])
  func aLinkLeavingTheSourceIsRefusedUnlessFollowedIntoARoot(_ format: String) throws {
    let directory = TemporaryDirectory("vlatune-links")
    let (root, link) = try Self.linkedSource(format, in: directory)
    let extra = format == "rlds" ? ["--fps", "10"] : []
    let prepare = ["dataset", "prepare", root.path, "--name", "linked", "--quiet"] + extra

    let strict = try Self.runner(directory, roots: [directory.appending("inside")])
    let refused = try strict.run(prepare)
    #expect(refused.status == 77, "\(format): \(refused.standardError)")
    #expect(
      refused.standardError.contains("\(link) is a symbolic link to \(directory.appending("elsewhere").path)"),
      "\(refused.standardError)")
    #expect(refused.standardError.contains("--follow-links"))
    let outsideRoots = try strict.run(prepare + ["--follow-links"])
    #expect(outsideRoots.status == 77, "\(format): \(outsideRoots.standardError)")
    #expect(outsideRoots.standardError.contains("outside the policy's dataset_roots"), "\(outsideRoots.standardError)")
    #expect((try strict.run(["dataset", "list", "--json"]).json()["datasets"] as? [Any])?.isEmpty == true)

    let both = try Self.runner(directory, roots: [directory.appending("inside"), directory.appending("elsewhere")])
    #expect(try both.run(prepare).status == 77)
    let followed = try both.run(prepare + ["--follow-links"])
    #expect(followed.status == 0, "\(format): \(followed.standardError)")
  }
}
