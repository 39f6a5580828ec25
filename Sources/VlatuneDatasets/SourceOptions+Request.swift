import VlatuneFormats
import VlatuneSupport

extension SourceOptions {
  /// The options a prepare request sets.
  init(_ request: PrepareRequest) {
    self.init()
    cameraMap = request.cameraMap
    fps = request.fps
    instruction = request.instruction
    dropNoops = request.dropNoops
    filterKey = request.filterKey
    rotate180 = Set(request.rotate180)
    gripperConvention = request.gripperConvention
    gripperDim = request.gripperDim
    actionKey = request.actionKey
    stateKeys = request.stateKeys
  }
}
