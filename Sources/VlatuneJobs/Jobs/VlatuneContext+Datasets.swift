import VlatuneDatasets
import VlatuneGuardrails
import VlatuneStore

/// The dataset services of a context, wired to this layer's jobs: a package a job may still
/// read is neither removed nor replaced.
extension VlatuneContext {
  /// The dataset preparer for this context under a policy.
  public func preparer(policy: Policy) -> DatasetPreparer {
    DatasetPreparer(home: home, store: store, users: UnfinishedJobs(), policy: policy)
  }
  /// The dataset catalog for this context.
  public var datasets: DatasetCatalog { DatasetCatalog(home: home, store: store, users: UnfinishedJobs()) }
}
