import ArgumentParser
import Foundation
import VlatuneCore

extension DatasetCommand {
  /// `vlatune dataset prepare SOURCE`.
  struct Prepare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Validate recorded episodes and write a checksummed, training-ready package.",
      discussion: """
        SOURCE is a directory or a .tar, .tar.gz, .tar.zst or .zip archive (streamed, never
        unpacked). Errors exit 65 naming the episode, step and field; nothing is registered.
        See docs/dataset-format.md.
        """)

    @Argument(help: "Dataset directory or archive.")
    var source: String

    @Option(help: "Dataset name (default: the source's base name).")
    var name: String?

    @Option(help: "Source format: auto, episodes, lerobot, hdf5, rlds.")
    var format: String = "auto"

    @Option(help: "Fraction of episodes held out for validation, in [0, 1).")
    var valFraction: Double = 0.1

    @Option(help: "Target shard size (for example 256MB, 1GiB).")
    var shardSize: String = "256MB"

    @Option(help: "Seed of the train/val split.")
    var seed: UInt64 = 42

    @Option(help: "Gripper action dimension excluded from normalization: auto, none or an index.")
    var gripperDim: String = "auto"

    @Flag(help: "Replace an existing dataset with the same name.")
    var overwrite = false

    @Flag(help: "Print only the dataset id.")
    var quiet = false

    @Flag(help: "Print the dataset document as JSON.")
    var json = false

    func request() throws -> PrepareRequest {
      var request = PrepareRequest(source: source)
      request.name = name
      guard let format = SourceFormat(rawValue: format) else {
        throw VlatuneError.invalidArgument(
          param: "--format",
          message: "must be one of \(SourceFormat.allCases.map(\.rawValue).joined(separator: ", ")), "
            + "got '\(format)'")
      }
      request.format = format
      request.valFraction = valFraction
      guard let bytes = ByteSize.parse(shardSize) else {
        throw VlatuneError.invalidArgument(
          param: "--shard-size", message: "must be a size such as 256MB or 1GiB, got '\(shardSize)'")
      }
      request.shardSizeBytes = bytes
      request.seed = seed
      guard let gripper = GripperDimension(argument: gripperDim) else {
        throw VlatuneError.invalidArgument(
          param: "--gripper-dim",
          message: "must be auto, none or a zero-based action index, got '\(gripperDim)'")
      }
      request.gripperDim = gripper
      request.overwrite = overwrite
      return request
    }

    func run() async throws {
      let request = try request()
      try request.validate()
      let context = try VlatuneContext.open(environment: ProcessInfo.processInfo.environment)
      let token = CancellationToken()
      let trap = SignalTrap(token: token)
      let progress = ProgressLine(enabled: Output.standardErrorIsTerminal && !quiet)
      defer {
        progress.finish()
        withExtendedLifetime(trap) {}
      }
      let document = try context.preparer.prepare(request, cancellation: token) {
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
