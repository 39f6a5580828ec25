import VlatuneSupport

/// One parameter of a tool (`job start` / `start_finetune_job`, `dataset prepare` /
/// `prepare_dataset`): its type, unit, allowed range or values, default and help. The same
/// definition validates CLI options and MCP arguments, generates the MCP input schema, the
/// `--dry-run` output and the documentation table.
public struct ParameterDefinition: Sendable, Equatable {
  /// The value's type and constraints.
  public enum Kind: Sendable, Equatable {
    /// A string of at most `maxLength` UTF-8 bytes.
    case string(maxLength: Int)
    /// An integer.
    case integer
    /// A number.
    case number
    /// `true` or `false`.
    case boolean
    /// One of a fixed set of strings.
    case choice([String])
    /// `key=value` pairs (an object of strings in JSON).
    case keyValues(maxPairs: Int, maxKeyLength: Int, maxValueLength: Int)
    /// A list of strings (comma-separated on the command line).
    case stringList(maxItems: Int)
  }

  /// The snake_case name (the MCP argument name).
  public var name: String
  /// Type and constraints.
  public var kind: Kind
  /// Unit of a numeric value (`steps`, `samples`), for help and docs.
  public var unit: String?
  /// Smallest allowed numeric value.
  public var minimum: Double?
  /// Whether `minimum` itself is excluded.
  public var exclusiveMinimum = false
  /// Largest allowed numeric value.
  public var maximum: Double?
  /// Whether `maximum` itself is excluded.
  public var exclusiveMaximum = false
  /// The default, when there is one.
  public var defaultValue: JSONValue?
  /// Whether the parameter must be given.
  public var required = false
  /// Another parameter that, when given, makes a `required` one optional (`from` supplies
  /// `base_model` and `dataset`).
  public var requiredUnless: String? = nil
  /// One sentence for `--help`, the schema's description and the docs.
  public var help: String

  /// The command-line flag (`--lora-rank`).
  public var flag: String { "--" + name.replacingUnderscores() }

  /// `name (--flag)`, how problems name the parameter for CLI and MCP users alike.
  public var label: String { "\(name) (\(flag))" }

  /// The allowed range or values in words (`1…1024`, `(0, 1)`, `one of fp32, bf16`).
  public var allowed: String {
    switch kind {
    case .choice(let values): return "one of " + values.joined(separator: ", ")
    case .boolean: return "true or false"
    case .string(let maxLength): return "a string of at most \(maxLength) bytes"
    case .keyValues(let pairs, let key, let value):
      return "at most \(pairs) key=value pairs (keys ≤ \(key), values ≤ \(value) bytes)"
    case .stringList(let items): return "at most \(items) comma-separated names"
    case .integer, .number:
      let low = minimum.map { (exclusiveMinimum ? "(" : "[") + Self.format($0) } ?? "(−∞"
      let high = maximum.map { Self.format($0) + (exclusiveMaximum ? ")" : "]") } ?? "∞)"
      return "\(low), \(high)"
    }
  }

  /// A number without a trailing `.0` when it is whole.
  public static func format(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
  }
}

extension String {
  func replacingUnderscores() -> String {
    String(map { $0 == "_" ? "-" : $0 })
  }
}
