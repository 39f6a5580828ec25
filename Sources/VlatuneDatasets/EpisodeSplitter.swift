import VlatuneSupport

/// Splits episodes into train and val as whole episodes, deterministically for a seed.
public enum EpisodeSplitter {
  /// The indices (into `count` episodes sorted by name) that go to the validation split.
  ///
  /// - Parameters:
  ///   - count: Number of episodes.
  ///   - fraction: Fraction for validation, in [0, 1); at least one episode when positive and
  ///     there are two or more episodes; the training split always keeps one.
  ///   - seed: The shuffle's seed.
  public static func validationIndices(count: Int, fraction: Double, seed: UInt64) -> Set<Int> {
    guard fraction > 0, count >= 2 else { return [] }
    let wanted = Int((Double(count) * fraction).rounded())
    let size = min(max(wanted, 1), count - 1)
    var order = Array(0..<count)
    var generator = SeededGenerator(seed: seed)
    for index in stride(from: count - 1, to: 0, by: -1) {
      order.swapAt(index, generator.next(below: index + 1))
    }
    return Set(order.prefix(size))
  }
}
