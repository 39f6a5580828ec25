import VlatuneSupport

/// Limits every source and validator applies alike.
package enum ValidationLimits {
  /// LeRobot's tolerance for timestamps on the 1/fps grid, in seconds.
  package static let timestampTolerance = 1e-4
  /// The most errors of one kind listed per episode.
  package static let errorsPerKind = 3
}
