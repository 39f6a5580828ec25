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

@Suite(.enabled(if: TestPaths.hasPython)) struct ImageHeaderTests {
  /// Writes a JPEG and a PNG of 40×24 pixels with Pillow and returns their bytes.
  static func images() throws -> (jpeg: [UInt8], png: [UInt8]) {
    let directory = TemporaryDirectory()
    let script = """
      import sys
      from PIL import Image
      image = Image.new("RGB", (40, 24), (200, 10, 10))
      image.save(sys.argv[1] + "/a.jpg", quality=90)
      image.save(sys.argv[1] + "/a.png")
      """
    let result = try ProcessRunner.run(TestPaths.python!, ["-c", script, directory.path])
    guard result.status == 0 else { throw SampleData.GeneratorError(message: result.standardError) }
    return (
      try FileIO.read(directory.appending("a.jpg").path),
      try FileIO.read(directory.appending("a.png").path)
    )
  }

  @Test func readsSizesOfRealImages() throws {
    let (jpeg, png) = try Self.images()
    #expect(try ImageHeader.inspect(jpeg) == ImageHeader(encoding: "jpeg", width: 40, height: 24))
    #expect(try ImageHeader.inspect(png) == ImageHeader(encoding: "png", width: 40, height: 24))
  }

  @Test func refusesTruncatedImages() throws {
    let (jpeg, png) = try Self.images()
    for cut in [jpeg.count - 1, jpeg.count / 2, 10] {
      #expect(throws: ImageHeader.Problem.self) { try ImageHeader.inspect(Array(jpeg.prefix(cut))) }
    }
    for cut in [png.count - 1, 40, 20] {
      #expect(throws: ImageHeader.Problem.self) { try ImageHeader.inspect(Array(png.prefix(cut))) }
    }
  }

  @Test func refusesUnknownFormats() {
    #expect(throws: ImageHeader.Problem.unknownFormat) {
      try ImageHeader.inspect(Array("GIF89a, not supported here".utf8))
    }
  }

  @Test func acceptsTrailingPaddingAfterJPEGEnd() throws {
    let (jpeg, _) = try Self.images()
    #expect(try ImageHeader.inspect(jpeg + [0, 0, 0]).width == 40)
  }
}
