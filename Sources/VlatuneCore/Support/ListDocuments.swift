/// `{"schema_version": 1, "jobs": […]}`: `job list --json` and the MCP `list_finetune_jobs` result.
public struct JobListDocument: Encodable, Sendable {
  /// Always 1.
  public var schemaVersion = 1
  /// Jobs, newest first.
  public var jobs: [JobDocument]

  /// Wraps jobs.
  public init(jobs: [JobDocument]) { self.jobs = jobs }

  enum CodingKeys: String, CodingKey {
    case jobs
    case schemaVersion = "schema_version"
  }
}

/// `{"schema_version": 1, "datasets": […]}`: `dataset list --json` and the MCP `list_datasets`
/// result.
public struct DatasetListDocument: Encodable, Sendable {
  /// Always 1.
  public var schemaVersion = 1
  /// Datasets, newest first.
  public var datasets: [DatasetDocument]

  /// Wraps datasets.
  public init(datasets: [DatasetDocument]) { self.datasets = datasets }

  enum CodingKeys: String, CodingKey {
    case datasets
    case schemaVersion = "schema_version"
  }
}
