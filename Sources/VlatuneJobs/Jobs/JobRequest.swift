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
    let values = ParameterValues(parameters)
    if let name = values[.name], let problem = PrepareRequest.nameProblem(name) {
      problems.append(ParameterProblem(param: "name", message: "name (--name) \(problem)"))
    }
    if values[.targetModules].contains(where: {
      $0.contains(where: { !$0.isLetter && !$0.isNumber && !"._-*".contains($0) })
    }) {
      problems.append(
        ParameterProblem(
          param: "target_modules",
          message: "target_modules (--target-modules) must be module names (letters, digits, '.', '_', '-', '*')"))
    }
    if !problems.isEmpty { throw VlatuneError.invalidParameters(problems) }
    // Stored and fingerprinted as an empty object when absent.
    if parameters["metadata"] == nil { parameters["metadata"] = .object([:]) }
    self.parameters = parameters
    self.actor = actor
    self.given = raw
  }

  /// A defaulted parameter's value (given, else the table's default).
  public subscript<Value>(_ key: Parameter<Value>) -> Value { ParameterValues(parameters)[key] }
  /// An optional parameter's value, when given.
  public subscript<Value>(_ key: OptionalParameter<Value>) -> Value? { ParameterValues(parameters)[key] }

  /// The base model.
  public var baseModel: String { self[.baseModel] ?? "" }
  /// The dataset reference.
  public var dataset: String { self[.dataset] ?? "" }
  /// The job's name.
  public var name: String? { self[.name] }
  /// The idempotency key.
  public var idempotencyKey: String? { self[.idempotencyKey] }
  /// GPUs, when given.
  public var gpus: Int? { self[.gpus] }
  /// The seed, when given.
  public var seed: UInt64? { self[.seed].map(UInt64.init) }
  /// The metadata labels.
  public var metadata: [String: String] { self[.metadata] ?? [:] }
}
