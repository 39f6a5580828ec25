import Foundation
import VlatuneSupport

/// Which files of a LeRobotDataset's episodes are present, and what to say when some are not:
/// every message counts what it says, names the cameras that do have files and points at a
/// video folder that sits next to where `video_path` says (`video/` for `videos/`).
package struct LeRobotFileCheck {
  /// An episode and the files of it that are absent.
  struct Missing {
    var entry: LeRobotEpisodeEntry
    package var files: [String]
  }

  package let root: String
  package let info: LeRobotInfo
  let entries: [LeRobotEpisodeEntry]
  /// Episodes with every file needed.
  private(set) var complete: [LeRobotEpisodeEntry] = []
  private(set) var missing: [Missing] = []
  /// Per selected video camera: the episodes whose video is absent.
  private(set) var absentByCamera: [String: Int] = [:]
  /// Per camera feature (selected or not): the episodes whose frames are present.
  package private(set) var presentByCamera: [String: Int] = [:]

  package init(root: String, info: LeRobotInfo, entries: [LeRobotEpisodeEntry], cameras: [LeRobotSource.Camera]) {
    self.root = root
    self.info = info
    self.entries = entries
    let selected = Set(cameras.map(\.key))
    for entry in entries {
      var absent: [String] = []
      if FileIO.kind(root + "/" + entry.dataFile) != .regular { absent.append(entry.dataFile) }
      for key in info.cameraKeys {
        let present: Bool
        if info.features[key]?.dtype == "video" {
          present = entry.videos[key].map { FileIO.kind(root + "/" + $0.path) == .regular } ?? false
          if !present && selected.contains(key) {
            absent.append(entry.videos[key]?.path ?? "the video of \(key)")
            absentByCamera[key, default: 0] += 1
          }
        } else {
          present = FileIO.kind(root + "/" + entry.dataFile) == .regular
        }
        if present { presentByCamera[key, default: 0] += 1 }
      }
      if absent.isEmpty { complete.append(entry) } else { missing.append(Missing(entry: entry, files: absent)) }
    }
  }

  /// `front (60 of 60 episodes), wrist (0 of 60)`: every camera with the episodes that have its
  /// frames.
  var cameraCounts: String {
    info.cameraKeys.map { "\($0) (\(presentByCamera[$0, default: 0]) of \(entries.count) episodes)" }
      .joined(separator: ", ")
  }

  /// Errors for absent files, or with `skipIncomplete` one warning (errors remain for a camera
  /// no episode has: skipping would leave nothing).
  package func diagnostics(skipIncomplete: Bool) -> [Diagnostic] {
    guard !missing.isEmpty else { return [] }
    var diagnostics: [Diagnostic] = []
    let lacking = absentByCamera.filter { $0.value == entries.count }.keys.sorted()
    for key in lacking {
      let example = entries.first?.videos[key]?.path
      diagnostics.append(
        Diagnostic(
          .error, code: "missing_camera",
          message: "every episode lacks camera \(key)"
            + (example.map { " (no file at \($0))" } ?? "") + "\(example.flatMap(siblingHint) ?? "")"
            + "; leave it out with --camera-map (cameras with files: \(cameraCounts); "
            + "--camera-map none for no images)", field: key))
    }
    if !lacking.isEmpty { return diagnostics }
    let total = entries.count
    if skipIncomplete {
      let listed = missing.prefix(3).map { "\($0.entry.name) (\($0.files[0]))" }.joined(separator: ", ")
      return [
        Diagnostic(
          .warning, code: "episodes_skipped",
          message: "\(missing.count) of \(total) episodes were left out because files are absent: "
            + listed + (missing.count > 3 ? " and \(missing.count - 3) more" : ""))
      ]
    }
    let hint = missing.first.flatMap { siblingHint($0.files[0]) } ?? ""
    return missing.map { item in
      Diagnostic(
        .error, code: "missing_file",
        message: "\(item.files.joined(separator: ", ")) \(item.files.count == 1 ? "is" : "are") absent\(hint) "
          + "(\(missing.count) of \(total) episodes have absent files); pass --skip-incomplete to "
          + "leave them out, or --camera-map to choose cameras whose files are present (\(cameraCounts))",
        episode: item.entry.name)
    }
  }

  /// When `path` is absent but the same file sits under a sibling of its first folder
  /// (`video/…` for `videos/…`), a clause saying so.
  func siblingHint(_ path: String) -> String? {
    let parts = path.split(separator: "/", maxSplits: 1).map(String.init)
    guard parts.count == 2,
      let siblings = try? FileManager.default.contentsOfDirectory(atPath: root)
    else { return nil }
    for sibling in siblings.sorted() where sibling != parts[0] && sibling != "meta" {
      if FileIO.kind(root + "/" + sibling + "/" + parts[1]) == .regular {
        return ", but \(sibling)/\(parts[1]) exists: the files are under \(sibling)/ where "
          + "meta/info.json's paths say \(parts[0])/ (rename the folder to \(parts[0])/)"
      }
    }
    return nil
  }
}
