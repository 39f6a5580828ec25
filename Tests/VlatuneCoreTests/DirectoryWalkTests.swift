import Foundation
import Testing
import VlatuneTestSupport

@testable import VlatuneArchive
@testable import VlatuneCore
@testable import VlatuneDatasets
@testable import VlatuneFormats
@testable import VlatuneGuardrails
@testable import VlatuneJobs
@testable import VlatuneStore
@testable import VlatuneSupport

@Suite struct DirectoryWalkTests {
  /// Regular files at any depth with their sizes; hidden files and directories left out; a link
  /// to a file counts as the file, a link to a directory is not entered.
  @Test func listsRegularFilesLikeTheSourceScanExpects() throws {
    let directory = TemporaryDirectory()
    let root = directory.appending("source").path
    let manager = FileManager.default
    for folder in ["a/b/c", "a/.hidden", ".git", "outside/inner"] {
      try manager.createDirectory(atPath: root + "/" + folder, withIntermediateDirectories: true)
    }
    let files = [
      "top.txt": 3, "a/one.bin": 10, "a/b/two.bin": 0, "a/b/c/three.bin": 4096,
      "a/.secret": 5, "a/.hidden/x.bin": 6, ".git/config": 7, "outside/inner/far.bin": 8,
    ]
    for (path, size) in files {
      try Data(repeating: 1, count: size).write(to: URL(fileURLWithPath: root + "/" + path))
    }
    try manager.createSymbolicLink(atPath: root + "/a/link.bin", withDestinationPath: root + "/a/one.bin")
    try manager.createSymbolicLink(atPath: root + "/a/linked-dir", withDestinationPath: root + "/outside")
    try manager.createSymbolicLink(atPath: root + "/a/dangling", withDestinationPath: root + "/nowhere")

    var found: [String: Int64] = [:]
    try DirectoryWalk.regularFiles(under: root, cancellation: CancellationToken()) { found[$0] = $1 }
    #expect(
      found == [
        "top.txt": 3, "a/one.bin": 10, "a/b/two.bin": 0, "a/b/c/three.bin": 4096,
        "outside/inner/far.bin": 8, "a/link.bin": 10,
      ])
  }

  /// A link whose file lies outside the source read that file into the package, past the
  /// policy's dataset_roots: refused, naming the link and its target.
  @Test func aLinkLeavingTheSourceIsRefused() throws {
    let directory = TemporaryDirectory()
    let root = directory.appending("source").path
    try FileManager.default.createDirectory(atPath: root + "/episode_000", withIntermediateDirectories: true)
    try Data("secret".utf8).write(to: directory.appending("outside.txt"))
    try FileManager.default.createSymbolicLink(
      atPath: root + "/episode_000/meta.json", withDestinationPath: directory.appending("outside.txt").path)
    do {
      try DirectoryWalk.regularFiles(under: root, cancellation: CancellationToken()) { _, _ in }
      Issue.record("the walk followed a link out of the source")
    } catch VlatuneError.policyDenied(let message) {
      #expect(message.contains("episode_000/meta.json is a symbolic link to"))
      #expect(message.contains("outside.txt, outside the source directory"))
    }
  }

  /// A link to a directory outside the source (a LeRobot `videos/` linked from elsewhere) is not
  /// entered by the walk, but LeRobot, RLDS and npz open paths under it: refused as well.
  @Test func aDirectoryLinkLeavingTheSourceIsRefused() throws {
    let directory = TemporaryDirectory()
    let root = directory.appending("source").path
    try FileManager.default.createDirectory(atPath: root + "/meta", withIntermediateDirectories: true)
    try FileManager.default.createDirectory(
      atPath: directory.appending("elsewhere").path, withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(
      atPath: root + "/videos", withDestinationPath: directory.appending("elsewhere").path)
    do {
      try DirectoryWalk.refuseEscapingLinks(under: root, links: .refuse, cancellation: CancellationToken())
      Issue.record("a directory link out of the source was accepted")
    } catch VlatuneError.policyDenied(let message) {
      #expect(message.contains("videos is a symbolic link to"))
      #expect(message.contains("elsewhere, outside the source directory"))
    }
  }

  /// Two names that differ only in bytes that are not UTF-8 would read as one (and the file as
  /// missing): refused, the name written out.
  @Test func aNameThatIsNotUTF8IsRefused() throws {
    let directory = TemporaryDirectory()
    let root = directory.appending("source").path
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    let raw: [CChar] = Array((root + "/ep").utf8CString.dropLast()) + [CChar(bitPattern: 0xFF), 0]
    let descriptor = raw.withUnsafeBufferPointer { open($0.baseAddress!, O_CREAT | O_WRONLY, 0o644) }
    #expect(descriptor >= 0)
    close(descriptor)
    do {
      try DirectoryWalk.regularFiles(under: root, cancellation: CancellationToken()) { _, _ in }
      Issue.record("the walk accepted a name that is not UTF-8")
    } catch VlatuneError.invalidDataset(_, let findings) {
      #expect(findings.first?.code == "non_utf8_name")
      #expect(findings.first?.field == "ep\\xFF")
    }
  }

  @Test func aMissingRootIsAnIOFailureNamingIt() {
    let root = TemporaryDirectory().appending("missing").path
    #expect {
      try DirectoryWalk.regularFiles(under: root, cancellation: CancellationToken()) { _, _ in }
    } throws: { error in
      guard case VlatuneError.ioFailure(let path, let message) = error else { return false }
      return path == root && message.contains("No such file")
    }
  }

  @Test func sixDigitKeysArePadded() {
    #expect(PackageWriter.sixDigits(0) == "000000")
    #expect(PackageWriter.sixDigits(42) == "000042")
    #expect(PackageWriter.sixDigits(123456) == "123456")
    #expect(PackageWriter.sixDigits(1_234_567) == "1234567")
  }
}
