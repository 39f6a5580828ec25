import VlatuneGuardrails
import VlatuneStore
import VlatuneSupport

extension VlatuneContext {
  /// The dataset preparer for this context under a policy.
  public func preparer(policy: Policy) -> DatasetPreparer {
    DatasetPreparer(home: home, store: store, policy: policy)
  }
  /// The dataset catalog for this context.
  public var datasets: DatasetCatalog { DatasetCatalog(home: home, store: store) }
}
