import GRDB

/// Who may still be reading a dataset's package: the jobs, which live in a layer above this one
/// (VlatuneJobs answers, and the front ends pass its answer in), so that removing or replacing a
/// dataset asks without this module reading another module's table.
public protocol DatasetUsers: Sendable {
  /// Up to five unfinished users of dataset `id`, inside the caller's transaction.
  func unfinished(_ database: Database, dataset id: String) throws -> [String]
}
