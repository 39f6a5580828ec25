import VlatuneSupport

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
