/// A finding about input data: an error that stops the command or a warning that is recorded.
///
/// Diagnostics are collected rather than thrown so that one run reports every problem at once.
public struct Diagnostic: Sendable, Equatable, Codable, CustomStringConvertible {
  /// How serious a finding is.
  public enum Severity: String, Sendable, Codable {
    /// The input cannot be used; the command fails with exit 65.
    case error
    /// The input is usable; the finding is listed in the manifest.
    case warning
  }

  /// Error or warning.
  public var severity: Severity
  /// A short stable code for the kind of finding (`nan_value`, `dim_mismatch`, …).
  public var code: String
  /// The human explanation, with the value found and the fix.
  public var message: String
  /// The episode the finding is about, when there is one.
  public var episode: String?
  /// The zero-based step within the episode, when there is one.
  public var step: Int?
  /// The field (`action[3]`, `timestamp`, `images.front`, `meta.json:instruction`).
  public var field: String?

  /// Creates a finding.
  public init(
    _ severity: Severity, code: String, message: String, episode: String? = nil,
    step: Int? = nil, field: String? = nil
  ) {
    self.severity = severity
    self.code = code
    self.message = message
    self.episode = episode
    self.step = step
    self.field = field
  }

  /// The location followed by the message, for example `episode ep_003, step 12, action[2]: …`.
  public var description: String {
    var location: [String] = []
    if let episode { location.append("episode \(episode)") }
    if let step { location.append("step \(step)") }
    if let field { location.append(field) }
    return location.isEmpty ? message : "\(location.joined(separator: ", ")): \(message)"
  }
}
