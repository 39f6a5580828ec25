/// A problem in a policy file, with its line.
public struct PolicyProblem: Sendable, Equatable, Codable, CustomStringConvertible {
  /// 1-based line (0 when unknown).
  public var line: Int
  /// What is wrong and how to fix it.
  public var message: String
  /// `line N: message`.
  public var description: String { line > 0 ? "line \(line): \(message)" : message }

  /// A problem at a line (0 when unknown).
  public init(line: Int, message: String) {
    self.line = line
    self.message = message
  }
}
