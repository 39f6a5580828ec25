import VlatuneFormats
import VlatuneGuardrails
import VlatuneSupport

extension LinkRule {
  /// The rule of `request` under `policy`: links may lead into the policy's `dataset_roots` only
  /// when the request asks to follow them.
  init(request: PrepareRequest, policy: Policy) {
    self.init(roots: request.followLinks ? policy.limits.datasetRoots : nil)
  }
}
