import VlatuneFormats
import VlatuneSupport

/// Finds cameras that recorded nothing: every sampled frame black (a camera slot a dataset
/// declares but never filled, like Bridge's `image_3`). Three frames per episode and camera
/// (first, middle, last) are decoded; PNG frames are not sampled.
struct DarkCameraCheck {
  /// The brightest value (of 255) a frame may hold and still count as black.
  static let threshold: UInt8 = 8

  private var sampled: [String: Int] = [:]
  private var black: [String: Int] = [:]
  private var order: [String] = []

  /// Samples one episode's frames (`stepCount × cameras`, step-major).
  mutating func add(_ episode: EpisodeRecord, images: [[UInt8]]) {
    let cameras = episode.cameras
    guard !cameras.isEmpty, episode.stepCount > 0 else { return }
    let steps = Set([0, episode.stepCount / 2, episode.stepCount - 1])
    for (index, camera) in cameras.enumerated() {
      if sampled[camera] == nil { order.append(camera) }
      for step in steps.sorted() {
        let slot = step * cameras.count + index
        guard slot < images.count, images[slot].starts(with: [0xFF, 0xD8]),
          let frame = try? JPEGCodec.decode(images[slot])
        else { continue }
        sampled[camera, default: 0] += 1
        if frame.rgb.allSatisfy({ $0 <= Self.threshold }) { black[camera, default: 0] += 1 }
      }
    }
  }

  /// One warning per camera whose every sampled frame is black.
  func warnings() -> [Diagnostic] {
    order.compactMap { camera in
      guard let count = sampled[camera], count > 0, black[camera] == count else { return nil }
      return Diagnostic(
        .warning, code: "black_camera",
        message: "camera '\(camera)' is black in every frame sampled (\(count): first, middle and last of "
          + "each episode); it may never have been recorded: leave it out with --camera-map",
        field: "images.\(camera)")
    }
  }
}
