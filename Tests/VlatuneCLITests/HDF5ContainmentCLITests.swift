import Foundation
import Testing
import VlatuneTestSupport

/// An HDF5 file can reach outside itself: an external link, a dataset whose values live in raw
/// external files, a virtual dataset over another file. Like a symbolic link out of a directory
/// source (issue #23, item 2), each is refused with 77 naming the object and the other file, and
/// nothing is read from it or registered.
@Suite(.enabled(if: DatasetFixture.available), .serialized)
struct HDF5ContainmentCLITests {
  let directory = TemporaryDirectory("vlatune-hdf5-outside")
  var vlatune: VlatuneRunner { VlatuneRunner(home: directory.appending("home")) }

  /// Moves `data/demo_0/actions` of `file` into `outside` and puts back, at the same path, what
  /// `how` names: the file still reads as the same demonstrations through HDF5.
  private static let rewire = """
    import sys, h5py, numpy as np
    path, outside, how = sys.argv[1], sys.argv[2], sys.argv[3]
    with h5py.File(path, "a") as f:
        actions = f["data/demo_0/actions"][()]
        del f["data/demo_0/actions"]
        if how == "external-link":
            with h5py.File(outside, "w") as o:
                o["actions"] = actions
            f["data/demo_0/actions"] = h5py.ExternalLink(outside, "/actions")
        elif how == "external-storage":
            actions.astype("<f8").tofile(outside)
            d = f.create_dataset("data/demo_0/actions", shape=actions.shape, dtype="<f8",
                                 external=[(outside, 0, actions.size * 8)])
        elif how in ("virtual", "virtual-same-file"):
            if how == "virtual":
                with h5py.File(outside, "w") as o:
                    o["actions"] = actions
                source = h5py.VirtualSource(outside, "actions", shape=actions.shape, dtype=actions.dtype)
            else:
                f["data/demo_0/actions_store"] = actions
                source = h5py.VirtualSource(".", "data/demo_0/actions_store", shape=actions.shape,
                                            dtype=actions.dtype)
            layout = h5py.VirtualLayout(shape=actions.shape, dtype=actions.dtype)
            layout[...] = source
            f.create_virtual_dataset("data/demo_0/actions", layout)
    with h5py.File(path, "r") as f:
        assert np.array_equal(f["data/demo_0/actions"][()], actions), "rewired file reads differently"
    """

  /// A robomimic source whose first demo's actions were rewired by `how`; returns it and the
  /// outside file.
  private func source(_ how: String) throws -> (root: URL, outside: URL) {
    let (root, _) = try DatasetFixture.make(
      "hdf5", in: directory.url, name: how, ["--layout", "robomimic", "--episodes", "2", "--instruction-attr"])
    let elsewhere = directory.appending("elsewhere-\(how)")
    try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
    let outside = elsewhere.appendingPathComponent(how == "external-storage" ? "actions.raw" : "actions.h5")
    let python = try #require(TestPaths.python)
    let made = try ProcessRunner.run(
      python, ["-c", Self.rewire, root.appendingPathComponent("demo.hdf5").path, outside.path, how])
    #expect(made.status == 0, "\(made.standardError)")
    return (root, outside)
  }

  @Test(arguments: [
    ("external-link", "is an external link to '/actions' in the file"),
    ("external-storage", "keeps its values in the external raw file"),
    ("virtual", "is a virtual dataset drawing from the file"),
  ])
  func dataOutsideTheFileIsRefused(how: String, says: String) throws {
    let (root, outside) = try source(how)
    let result = try vlatune.run(["dataset", "prepare", root.path, "--name", "outside", "--json"])
    #expect(result.status == 77, "\(result.standardError)")
    let error = try #require(try result.json()["error"] as? [String: Any])
    #expect(error["code"] as? String == "policy_denied")
    let message = try #require(error["message"] as? String)
    #expect(message.hasPrefix("demo.hdf5: "), "\(message)")
    #expect(message.contains("data/demo_0/actions"), "\(message)")
    #expect(message.contains(says), "\(message)")
    #expect(message.contains(outside.path), "\(message)")
    #expect(message.contains("copy the data into this file"), "\(message)")
    let list = try vlatune.run(["dataset", "list", "--json"])
    #expect((try list.json()["datasets"] as? [Any])?.isEmpty == true)
  }

  /// A virtual dataset whose sources are in the same file reads nothing else: it is prepared, with
  /// the same actions as the plain file.
  @Test func aVirtualDatasetOverTheSameFileIsRead() throws {
    let (plain, _) = try DatasetFixture.make(
      "hdf5", in: directory.url, name: "plain", ["--layout", "robomimic", "--episodes", "2", "--instruction-attr"])
    let (root, _) = try source("virtual-same-file")
    let mine = try vlatune.run(["dataset", "prepare", root.path, "--name", "same-file", "--json"])
    #expect(mine.status == 0, "\(mine.standardError)")
    let reference = try vlatune.run(["dataset", "prepare", plain.path, "--name", "plain", "--json"])
    #expect(reference.status == 0, "\(reference.standardError)")
    let statistics = { (document: [String: Any]) in
      ((document["stats"] as? [String: Any])?["action"] as? [String: Any])?["mean"] as? [Double]
    }
    let same = try statistics(mine.json())
    #expect(same != nil)
    #expect(same == (try statistics(reference.json())))
  }
}
