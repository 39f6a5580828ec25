import GRDB
import VlatuneDatasets

/// The jobs that may still read a dataset's package: queued, starting, running or cancelling.
public struct UnfinishedJobs: DatasetUsers {
  /// The jobs table's answer.
  public init() {}

  public func unfinished(_ database: Database, dataset id: String) throws -> [String] {
    try String.fetchAll(
      database,
      sql: "SELECT id FROM jobs WHERE dataset_id = ? AND state IN (\(JobState.activeSQL)) ORDER BY id LIMIT 5",
      arguments: [id])
  }
}
