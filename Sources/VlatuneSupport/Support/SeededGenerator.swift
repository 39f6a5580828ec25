/// A small deterministic random number generator (SplitMix64) so that splits and ids derived
/// from a seed are the same on every machine and Swift version.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
  private var state: UInt64

  /// Starts the sequence from a seed.
  public init(seed: UInt64) { state = seed }

  /// The next 64 random bits.
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A uniform integer in `0..<bound` without modulo bias (Lemire's method is not needed at
  /// these sizes; rejection sampling keeps it exact and portable).
  public mutating func next(below bound: Int) -> Int {
    precondition(bound > 0)
    let limit = UInt64.max - UInt64.max % UInt64(bound)
    while true {
      let value = next()
      if value < limit { return Int(value % UInt64(bound)) }
    }
  }
}
