import VlatuneDatasets
import VlatuneGuardrails
import VlatuneSupport

/// A validated `job start` request: the parameter table's values, typed.
public struct JobRequest: Sendable, Equatable {
  /// The validated parameters, defaults filled in (for fingerprints and `--dry-run`).
  public let parameters: [String: JSONValue]
  /// Who asks (`cli:$USER`, `mcp:<client>`).
  public let actor: String
  /// The arguments as the caller gave them, without defaults: what policy conditions test, as
  /// a proxy in front would see them.
  public internal(set) var given: [String: JSONValue]

  /// Validates raw parameters against ``JobParameters/table``.
  ///
  /// - Throws: ``VlatuneError/invalidParameters(_:)`` listing every problem.
  public init(_ raw: [String: JSONValue], actor: String) throws {
    var parameters = try JobParameters.table.validate(raw)
    var problems: [ParameterProblem] = []
    if let name = parameters["name"]?.stringValue, let problem = PrepareRequest.nameProblem(name) {
      problems.append(ParameterProblem(param: "name", message: "name (--name) \(problem)"))
    }
    if let modules = parameters["target_modules"]?.arrayValue?.compactMap(\.stringValue),
      modules.contains(where: { $0.contains(where: { !$0.isLetter && !$0.isNumber && !"._-*".contains($0) }) })
    {
      problems.append(
        ParameterProblem(
          param: "target_modules",
          message: "target_modules (--target-modules) must be module names (letters, digits, '.', '_', '-', '*')"))
    }
    if !problems.isEmpty { throw VlatuneError.invalidParameters(problems) }
    if parameters["metadata"] == nil { parameters["metadata"] = .object([:]) }
    self.parameters = parameters
    self.actor = actor
    self.given = raw
  }

  func integer(_ name: String) -> Int? { parameters[name]?.numberValue.map { Int($0) } }
  func number(_ name: String) -> Double? { parameters[name]?.numberValue }
  func string(_ name: String) -> String? { parameters[name]?.stringValue }
  func bool(_ name: String) -> Bool? { parameters[name]?.boolValue }

  /// The base model.
  public var baseModel: String { string("base_model") ?? "" }
  /// The dataset reference.
  public var dataset: String { string("dataset") ?? "" }
  /// The job's name.
  public var name: String? { string("name") }
  /// The idempotency key.
  public var idempotencyKey: String? { string("idempotency_key") }
  /// GPUs, when given.
  public var gpus: Int? { integer("gpus") }
  /// The seed, when given.
  public var seed: UInt64? { integer("seed").map(UInt64.init) }
  /// The executor.
  public var executor: String { string("executor") ?? "local" }
  /// The metadata labels.
  public var metadata: [String: String] {
    (parameters["metadata"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
  }
}
