import ArgumentParser
import Foundation
import VlatuneCore

extension DatasetCommand {
  /// `vlatune dataset list`.
  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List registered datasets.")

    @Flag(help: "Print JSON.")
    var json = false
    @OptionGroup var guardOptions: GuardOptions

    func run() throws {
      let context = try VlatuneContext.open(environment: ProcessInfo.processInfo.environment)
      try guardOptions.admit("list_datasets", [:], reference: nil, context: context)
      let listing = try context.datasets.listing()
      let datasets = listing.datasets
      for damaged in listing.damaged {
        Output.standardError(
          "warning: \(damaged.id) (\(TerminalText.escaped(damaged.name))): \(TerminalText.escaped(damaged.problem))\n")
      }
      if json {
        Output.json(listing)
      } else if datasets.isEmpty {
        Output.standardError("no datasets; create one with 'vlatune dataset prepare SOURCE'\n")
      } else {
        Output.standardOutput(DatasetText.table(datasets))
      }
    }
  }

  /// `vlatune dataset show ID`.
  struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "show",
      abstract: "Show a dataset (id, unique id prefix or name).")

    @Argument(help: "Dataset id, unique id prefix, or name.")
    var dataset: String

    @Flag(help: "Print the dataset document as JSON.")
    var json = false
    @OptionGroup var guardOptions: GuardOptions

    func run() throws {
      let context = try VlatuneContext.open(environment: ProcessInfo.processInfo.environment)
      try guardOptions.admit("get_dataset", ["dataset": .string(dataset)], reference: dataset, context: context)
      let document = try context.datasets.show(dataset)
      if json {
        Output.json(document)
      } else {
        Output.standardOutput(DatasetText.summary(document))
        if !document.warnings.isEmpty {
          Output.standardOutput(DatasetText.warnings(document.warnings))
        }
      }
    }
  }

  /// `vlatune dataset verify ID`.
  struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "verify",
      abstract: "Re-hash every shard and compare with the manifest (exit 65 on mismatch).")

    @Argument(help: "Dataset id, unique id prefix, or name.")
    var dataset: String

    @Flag(help: "Print the report as JSON.")
    var json = false
    @OptionGroup var guardOptions: GuardOptions

    func run() throws {
      let context = try VlatuneContext.open(environment: ProcessInfo.processInfo.environment)
      try guardOptions.admit("verify_dataset", ["dataset": .string(dataset)], reference: dataset, context: context)
      let report = try context.datasets.verify(dataset)
      if json {
        Output.json(report)
      } else {
        for shard in report.shards {
          let status = shard.ok ? "ok" : "MISMATCH (now \(shard.actualSha256 ?? "unreadable"))"
          Output.standardOutput("\(shard.path)  \(shard.expectedSha256)  \(status)\n")
        }
        for file in report.missingFiles { Output.standardOutput("\(file)  MISSING\n") }
      }
      if !report.ok {
        let bad = report.shards.filter { !$0.ok }.count + report.missingFiles.count
        Output.standardError(
          "Error: \(report.id) (\(report.name)) failed verification: \(bad) file(s) differ from "
            + "the manifest; prepare the dataset again\n")
        throw ExitCode(65)
      }
      if !json { Output.standardOutput("\(report.id) (\(report.name)): all shards verified\n") }
    }
  }

  /// `vlatune dataset rm ID`.
  struct Remove: ParsableCommand {
    /// What `--json` prints for a removed entry whose document was unreadable.
    struct Removed: Encodable {
      var schemaVersion = 1
      var id: String
      var name: String
      var removed = true
      enum CodingKeys: String, CodingKey {
        case id, name, removed
        case schemaVersion = "schema_version"
      }
    }

    static let configuration = CommandConfiguration(
      commandName: "rm", abstract: "Unregister a dataset and delete its package.")

    @Argument(help: "Dataset id, unique id prefix, or name.")
    var dataset: String

    @Flag(help: "Print the removed dataset's document as JSON.")
    var json = false
    @OptionGroup var guardOptions: GuardOptions

    func run() throws {
      let context = try VlatuneContext.open(environment: ProcessInfo.processInfo.environment)
      try guardOptions.admit("remove_dataset", ["dataset": .string(dataset)], reference: dataset, context: context)
      let (record, document) = try context.datasets.remove(dataset)
      if json {
        if let document { Output.json(document) } else { Output.json(Removed(id: record.id, name: record.name)) }
      } else {
        Output.standardOutput("removed \(record.id) (\(record.name))\n")
      }
    }
  }
}
