import ArgumentParser
import Foundation
import VlatuneCore

extension DatasetCommand {
  /// `vlatune dataset prepare SOURCE`.
  struct Prepare: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "prepare",
      abstract: "Validate recorded episodes and write a checksummed, training-ready package.",
      discussion: """
        SOURCE is a directory or a .tar, .tar.gz, .tar.zst or .zip archive (streamed, never
        unpacked). Errors exit 65 naming the episode, step and field; nothing is registered.
        See docs/dataset-format.md.
        """)

    @Argument(help: "Dataset directory or archive.")
    var source: String

    static func help(_ name: String) -> ArgumentHelp {
      let definition = PrepareParameters.table[name]
      return ArgumentHelp(
        "\(definition?.help ?? "")"
          + "\(definition?.defaultValue.map { " (default \(StartHelp.shown($0)))" } ?? "")")
    }

    @Option(help: help("name")) var name: String?
    @Option(
      help: ArgumentHelp(
        "Source format: \(SourceFormat.allCases.map(\.rawValue).joined(separator: ", ")) (default auto: "
          + "detected from the content)."))
    var format: String?
    @Option(help: help("val_fraction")) var valFraction: String?
    @Option(help: help("shard_size")) var shardSize: String?
    @Option(help: help("seed")) var seed: String?
    @Option(help: help("gripper_dim")) var gripperDim: String?
    @Flag(help: help("overwrite")) var overwrite = false
    @Option(help: help("camera_map")) var cameraMap: String?
    @Flag(help: help("skip_incomplete")) var skipIncomplete = false
    @Flag(help: help("follow_links")) var followLinks = false
    @Option(help: help("fps")) var fps: String?
    @Option(help: help("instruction")) var instruction: String?
    @Flag(help: help("drop_noops")) var dropNoops = false
    @Option(help: help("filter_key")) var filterKey: String?
    @Option(help: help("gripper_convention")) var gripperConvention: String?
    @Option(name: .customLong("rotate-180"), help: help("rotate_180")) var rotate180: String?
    @Option(help: help("action_key")) var actionKey: String?
    @Option(name: [.customLong("state-keys"), .customLong("state-key")], help: help("state_keys"))
    var stateKeys: String?
    @OptionGroup var actor: ActorOptions
    @OptionGroup var policy: PolicyOptions
    @Flag(help: "Print only the dataset id.") var quiet = false
    @Flag(help: "Print the dataset document as JSON.") var json = false

    func request(_ environment: [String: String]) throws -> PrepareRequest {
      var raw: [String: String] = ["source": source]
      let values: [(String, String?)] = [
        ("name", name), ("format", format), ("val_fraction", valFraction),
        ("shard_size", shardSize), ("seed", seed), ("gripper_dim", gripperDim),
        ("camera_map", cameraMap), ("fps", fps), ("instruction", instruction),
        ("filter_key", filterKey), ("rotate_180", rotate180),
        ("gripper_convention", gripperConvention), ("action_key", actionKey), ("state_keys", stateKeys),
      ]
      for (key, value) in values { if let value { raw[key] = value } }
      var parameters = PrepareParameters.table.fromCommandLine(raw)
      // Only the flags given, as an MCP caller sends only the arguments it names: policy
      // conditions see the same call from both.
      for (key, value) in [
        ("overwrite", overwrite), ("skip_incomplete", skipIncomplete), ("drop_noops", dropNoops),
        ("follow_links", followLinks),
      ]
      where value {
        parameters[key] = .bool(true)
      }
      return try PrepareRequest(parameters: parameters, actor: actor.resolved(environment))
    }

    func run() throws {
      let environment = ProcessInfo.processInfo.environment
      let request = try request(environment)
      let context = try VlatuneContext.open(environment: environment)
      let token = CancellationToken()
      let trap = SignalTrap(token: token)
      let progress = ProgressLine(enabled: Output.standardErrorIsTerminal && !quiet)
      defer {
        progress.finish()
        withExtendedLifetime(trap) {}
      }
      let preparer = context.preparer(policy: try policy.resolved(context))
      let document = try preparer.prepare(request, cancellation: token) {
        progress.update($0)
      }
      progress.finish()
      if json {
        Output.json(document)
      } else if quiet {
        Output.standardOutput(document.id + "\n")
      } else {
        Output.standardOutput(DatasetText.summary(document))
      }
      if !json && !document.warnings.isEmpty {
        Output.standardError(DatasetText.warnings(document.warnings))
      }
    }
  }
}
