import ArgumentParser

/// `vlatune dataset …`.
struct DatasetCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dataset",
    abstract: "Prepare, list, inspect, verify and remove dataset packages.",
    subcommands: [Prepare.self, Inspect.self, List.self, Show.self, Verify.self, Remove.self]
  )
}
