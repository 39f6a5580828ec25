import VlatuneSupport

/// Which action dimension is the gripper, excluded from normalization.
public enum GripperDimension: Sendable, Equatable {
  /// The last action dimension when it takes exactly two distinct values.
  case auto
  /// No gripper dimension.
  case none
  /// An explicit zero-based action dimension.
  case index(Int)

  /// Parses `auto`, `none` or a zero-based index.
  public init?(argument: String) {
    switch argument.lowercased() {
    case "auto": self = .auto
    case "none": self = .none
    default:
      guard let index = Int(argument), index >= 0 else { return nil }
      self = .index(index)
    }
  }
}
