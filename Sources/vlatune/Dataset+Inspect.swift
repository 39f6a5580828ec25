import ArgumentParser
import Foundation
import VlatuneCore

extension DatasetCommand {
  /// `vlatune dataset inspect SOURCE`.
  struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "inspect",
      abstract:
        "Say what a source holds (format, features, cameras with file counts, episodes, fps, tasks) without preparing it.",
      discussion: """
        Reads metadata (LeRobot) or the numeric data (other formats) and never writes a package.
        The keys shown are those dataset prepare would take with the same --action-key,
        --state-keys and --camera-map. Exit 0 even when prepare would refuse the source: the
        problems are listed as notes.
        """)

    @Argument(help: "Dataset directory or archive.")
    var source: String
    @Option(help: "Source format (auto, episodes, lerobot, hdf5, rlds, npz).") var format: String?
    @Option(help: Prepare.help("action_key")) var actionKey: String?
    @Option(name: [.customLong("state-keys"), .customLong("state-key")], help: Prepare.help("state_keys"))
    var stateKeys: String?
    @Option(help: Prepare.help("camera_map")) var cameraMap: String?
    @Option(help: Prepare.help("instruction")) var instruction: String?
    @Option(help: Prepare.help("fps")) var fps: String?
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
      var raw: [String: String] = ["source": source]
      for (key, value) in [
        ("format", format), ("action_key", actionKey), ("state_keys", stateKeys), ("camera_map", cameraMap),
        ("instruction", instruction), ("fps", fps),
      ] {
        if let value { raw[key] = value }
      }
      let request = try PrepareRequest(parameters: PrepareParameters.table.fromCommandLine(raw), actor: "cli")
      let scratch = FileManager.default.temporaryDirectory.path
      let inspection = try SourceInspection.inspect(request, scratch: scratch)
      if json {
        Output.json(inspection)
      } else {
        Output.standardOutput(Self.text(inspection))
      }
    }

    static func text(_ inspection: SourceInspection) -> String {
      var lines = [
        "\(inspection.root) [\(inspection.format)\(inspection.version.map { " \($0)" } ?? "")]",
        "  episodes   \(inspection.episodes)\(inspection.steps.map { ", \($0) steps" } ?? "")"
          + "\(inspection.fps.map { " at \($0) fps" } ?? "")",
      ]
      lines.append("  features")
      for feature in inspection.features {
        lines.append("    \(feature.key)  \(feature.dtype)\(feature.shape.isEmpty ? "" : " \(feature.shape)")")
      }
      let cameras = inspection.cameras.map { "\($0.key) (\($0.episodesWithFiles) of \(inspection.episodes) episodes)" }
      lines.append("  cameras    \(cameras.isEmpty ? "none" : cameras.joined(separator: ", "))")
      if let keys = inspection.keys {
        lines.append(
          "  prepare    action \(keys.action); state "
            + (keys.state.isEmpty
              ? "none" : keys.state.map { "\($0.key) [\($0.start)..<\($0.start + $0.size)]" }.joined(separator: ", ")))
      }
      lines.append(
        "  tasks      \(inspection.tasks.count)\(inspection.tasks.isEmpty ? "" : ": " + inspection.tasks.prefix(5).joined(separator: " | "))"
      )
      for note in inspection.notes { lines.append("  \(note.severity == .error ? "error" : "note"): \(note)") }
      return lines.map { TerminalText.escaped($0) }.joined(separator: "\n") + "\n"
    }
  }
}
