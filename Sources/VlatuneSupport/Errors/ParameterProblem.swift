/// A problem with one parameter.
public struct ParameterProblem: Sendable, Equatable, Codable, CustomStringConvertible {
  /// The parameter's snake_case name.
  public var param: String
  /// What is wrong: the allowed range or values and the value given.
  public var message: String

  /// `name (--flag) message`.
  public var description: String { message }

  /// A problem with one parameter.
  public init(param: String, message: String) {
    self.param = param
    self.message = message
  }
}
