import VlatuneSupport

/// `{"schema_version": 1, "datasets": […]}`: `dataset list --json` and the MCP `list_datasets`
/// result.
public struct DatasetListDocument: Encodable, Sendable {
  /// Always 1.
  public var schemaVersion = 1
  /// Datasets, newest first.
  public var datasets: [DatasetDocument]
  /// Catalog entries that could not be read (listed so that they can be removed).
  public var damaged: [Damaged] = []

  /// A catalog entry that could not be read.
  public struct Damaged: Encodable, Sendable {
    /// The dataset's id.
    public var id: String
    /// Its name.
    public var name: String
    /// What is wrong and what to do.
    public var problem: String
  }

  /// Wraps datasets.
  public init(datasets: [DatasetDocument]) { self.datasets = datasets }

  enum CodingKeys: String, CodingKey {
    case datasets, damaged
    case schemaVersion = "schema_version"
  }
}
