import CMedia
import Foundation

/// libVlatuneMedia.so (FFmpeg, libjpeg-turbo, libhdf5), loaded on first use from next to the
/// running binary (or `$VLATUNE_MEDIA_LIBRARY`), so commands that never touch video or HDF5 do
/// not pay for loading ~120 shared libraries.
package enum MediaLibrary {
  private static let loaded: Result<vlatune_media, VlatuneError> = {
    let candidates = [
      ProcessInfo.processInfo.environment["VLATUNE_MEDIA_LIBRARY"],
      executableDirectory().map { $0 + "/libVlatuneMedia.so" },
    ].compactMap { $0 }
    var problems: [String] = []
    for path in candidates {
      var table = vlatune_media()
      var message = [CChar](repeating: 0, count: 512)
      if vlatune_media_load(path, &table, &message, message.count) == 0 { return .success(table) }
      problems.append(String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    return .failure(
      .resourceUnavailable(
        message: "the media library (FFmpeg, libjpeg-turbo, libhdf5) cannot be loaded: "
          + problems.joined(separator: "; ")
          + "; rebuild (make build) so libVlatuneMedia.so sits next to the vlatune binary, or set "
          + "VLATUNE_MEDIA_LIBRARY"))
  }()

  /// The loaded entry points.
  package static func functions() throws -> vlatune_media { try loaded.get() }

  /// The directory of the running executable (`/proc/self/exe`), or of the test bundle.
  private static func executableDirectory() -> String? {
    if let bundle = Bundle.main.executableURL?.deletingLastPathComponent().path,
      FileManager.default.fileExists(atPath: bundle + "/libVlatuneMedia.so")
    {
      return bundle
    }
    guard let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    else { return nil }
    return URL(fileURLWithPath: path).deletingLastPathComponent().path
  }
}
