import ArgumentParser
import Testing
import VlatuneCore

@testable import vlatune

/// `job start`'s options are the parameter table's: one option per parameter, named by the
/// table's flag, and no option the table does not know.
@Suite struct StartOptionsTests {
  @Test func everyParameterHasExactlyOneOption() throws {
    let start = try JobCommand.Start.parse([])
    // `metadata` is read from its repeatable `--metadata k=v` option (JobStartOptions).
    let names = start.groups.flatMap { $0.values.map(\.0) + $0.flags.map(\.0) } + ["metadata"]
    #expect(names.count == Set(names).count, "a parameter is listed by two groups")
    #expect(Set(names) == Set(JobParameters.table.definitions.map(\.name)))
  }

  @Test func everyOptionIsNamedByTheTablesFlag() {
    let help = JobCommand.Start.helpMessage(columns: 10_000)
    for definition in JobParameters.table.definitions {
      #expect(help.contains(definition.flag + " ") || help.contains(definition.flag + "\n"), "\(definition.flag)")
    }
  }

  @Test func anOptionsValueReachesItsParameter() throws {
    let start = try JobCommand.Start.parse([
      "--base-model", "tiny-vla", "--dataset", "d", "--lora-rank", "4", "--data-workers", "0",
      "--gradient-checkpointing", "--slurm-qos", "high", "--metadata", "team=arm",
    ])
    let parameters = try start.rawParameters([:])
    #expect(parameters["lora_rank"] == .number(4))
    #expect(parameters["data_workers"] == .number(0))
    #expect(parameters["gradient_checkpointing"] == .bool(true))
    #expect(parameters["slurm_qos"] == .string("high"))
    #expect(parameters["metadata"] == .object(["team": .string("arm")]))
  }
}
