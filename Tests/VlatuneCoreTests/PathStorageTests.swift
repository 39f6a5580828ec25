import Testing

@testable import VlatuneArchive
@testable import VlatuneCore
@testable import VlatuneDatasets
@testable import VlatuneFormats
@testable import VlatuneGuardrails
@testable import VlatuneJobs
@testable import VlatuneStore
@testable import VlatuneSupport

/// The compact path containers pass 1 keeps for every image.
@Suite struct PathStorageTests {
  @Test func imagePathsGiveBackEveryPathInOrderIncludingEmptyOnes() {
    let paths = ["episode_000/front/000000.jpg", "", "é/wrist/0.png", "x"]
    var stored = ImagePaths()
    stored.reserveCapacity(paths: 4, bytes: 8)
    for path in paths { stored.append(path) }
    #expect(Array(stored) == paths)
    #expect(stored.count == 4)
    #expect(stored[1].isEmpty)
    #expect(stored.byteCount == paths.reduce(0) { $0 + $1.utf8.count })
    #expect(ImagePaths(paths) == stored)
    #expect(Array(ImagePaths()) == [])
  }

  @Test func pathSetAnswersMembershipAndSpotsLeRobotInfo() {
    var files = PathSet()
    for index in 0..<5000 { files.insert("episode_\(index)/front/000000.jpg") }
    #expect(files.count == 5000)
    #expect(files.contains("episode_4999/front/000000.jpg"))
    #expect(!files.contains("episode_5000/front/000000.jpg"))
    #expect(!files.contains("episode_1/front/000000.jpg "))
    #expect(!files.hasLeRobotInfo)
    files.insert("pusht/meta/info.json")
    #expect(files.hasLeRobotInfo)
    var nested = PathSet()
    nested.insert("a/b/meta/info.json")
    #expect(!nested.hasLeRobotInfo)
  }
}
