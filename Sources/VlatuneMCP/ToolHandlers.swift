import Foundation
import MCP
import VlatuneCore

/// Translates tool calls into core calls and core results into tool results: the `--json`
/// document as `structuredContent` and as text; refusals and bad arguments as `isError` results
/// carrying the CLI's error document, so a model can correct itself.
struct ToolHandlers: Sendable {
  let context: VlatuneContext
  let policy: Policy
  let watcherExecutable: String

  var gate: ToolGate { ToolGate(context: context, policy: policy) }

  /// Serves one `tools/call`. Every tool passes the core's gate: `start_finetune_job` and
  /// `prepare_dataset` inside their own admission, the others through ``ToolGate`` before they
  /// do anything. Arguments of the wrong type are refused, and audited, before any of that.
  func call(_ name: String, arguments: [String: Value], actor: String) async throws -> CallTool.Result {
    let values = arguments.mapValues(MCPValue.to)
    guard let tool = GuardedTool.named(name), tool.servedOverMCP else {
      throw MCPError.invalidParams(
        "Unknown tool: \(name); tools: "
          + GuardedTool.all.filter(\.servedOverMCP).map(\.name).joined(separator: ", "))
    }
    do {
      // A hidden or unlisted tool is refused before its arguments are looked at (they would
      // tell the caller its schema).
      if let refusal = policy.standingRefusal(name) {
        gate.auditRefusal(name, actor: actor, arguments: values, error: refusal)
        throw refusal
      }
      switch name {
      case "prepare_dataset":
        let request = try refusingAudited(name, actor: actor, values) {
          try PrepareRequest(parameters: values, actor: actor)
        }
        let document = try await Self.detached {
          try context.preparer(policy: policy).prepare(request)
        }
        return try Self.result(document)
      case "start_finetune_job":
        var raw = values
        let dryRun = try refusingAudited(name, actor: actor, values) {
          try Self.flag(raw.removeValue(forKey: "dry_run"), "dry_run")
        }
        let parameters = raw
        let launcher = JobLauncher(context: context, policy: policy, watcherExecutable: watcherExecutable)
        let outcome = try await Self.detached { try launcher.start(parameters, actor: actor, dryRun: dryRun) }
        switch outcome {
        case .started(let document), .replayed(let document): return try Self.result(document)
        case .dryRun(let report): return try Self.result(report)
        }
      case "evaluate_policy":
        let evaluator = JobEvaluator(context: context, policy: policy, watcherExecutable: watcherExecutable)
        let document = try await Self.detached { try evaluator.evaluate(values, actor: actor) }
        return try Self.result(document)
      case "get_finetune_job":
        let reference = try refusingAudited(name, actor: actor, values) {
          try Self.only(values, ["job"])
          return try Self.string(values, "job")
        }
        try gate.admit(name, actor: actor, arguments: values, reference: reference)
        return try Self.result(try JobControl(context: context).status(reference))
      case "list_finetune_jobs":
        let query = try refusingAudited(name, actor: actor, values) {
          try Self.only(values, ["state", "limit", "name_prefix", "metadata"])
          var labels: [String: String] = [:]
          if let metadata = values["metadata"], metadata != .null {
            guard let object = metadata.objectValue, case let strings = object.compactMapValues(\.stringValue),
              strings.count == object.count
            else { throw Self.wrongType("metadata", "an object of strings", metadata) }
            labels = strings
          }
          return try JobControl.ListQuery(
            stateName: try Self.optionalString(values, "state"), limit: try Self.integer(values, "limit"),
            namePrefix: try Self.optionalString(values, "name_prefix"), metadata: labels)
        }
        try gate.admit(name, actor: actor, arguments: values, reference: nil)
        let jobs = try JobControl(context: context).list(query)
        return try Self.result(JobListDocument(jobs: jobs))
      case "cancel_finetune_job":
        let (reference, grace, reason) = try refusingAudited(name, actor: actor, values) {
          try Self.only(values, ["job", "grace_seconds", "reason"])
          let grace = try Self.number(values, "grace_seconds") ?? 30
          guard grace >= 0 && grace <= 86_400 else {
            throw VlatuneError.invalidArgument(
              param: "grace_seconds", message: "must be in 0…86400 seconds, got \(grace)")
          }
          let reason = try Self.optionalString(values, "reason")
          try JobControl.checkReason(reason)
          return (try Self.string(values, "job"), grace, reason)
        }
        try gate.admit(name, actor: actor, arguments: values, reference: reference)
        let control = JobControl(context: context)
        let note = JobControl.nothingToCancel(try control.status(reference))
        let document = try control.cancel(reference, grace: grace, reason: reason, actor: actor, wait: false)
        return try Self.result(document, note: note)
      case "resume_finetune_job":
        let resumer = JobResumer(context: context, policy: policy, watcherExecutable: watcherExecutable)
        let document = try await Self.detached { try resumer.resume(values, actor: actor) }
        return try Self.result(document)
      default:  // list_datasets
        try refusingAudited(name, actor: actor, values) { try Self.only(values, []) }
        try gate.admit(name, actor: actor, arguments: values, reference: nil)
        return try Self.result(try context.datasets.listing())
      }
    } catch let error as VlatuneError {
      return Self.failure(error)
    }
  }

  /// Runs argument checks; a refusal is audited (nothing ran) and rethrown.
  func refusingAudited<T>(
    _ tool: String, actor: String, _ arguments: [String: JSONValue], _ check: () throws -> T
  ) throws -> T {
    do {
      return try check()
    } catch let error as VlatuneError {
      gate.auditRefusal(tool, actor: actor, arguments: arguments, error: error)
      throw error
    }
  }

  /// Runs blocking core work off the cooperative pool, so slow prepares do not stall other calls.
  static func detached<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
      DispatchQueue.global().async {
        continuation.resume(with: Result(catching: { try work() }))
      }
    }
  }

  /// A required non-empty string argument.
  static func string(_ arguments: [String: JSONValue], _ name: String) throws -> String {
    guard let value = try optionalString(arguments, name), !value.isEmpty else {
      throw VlatuneError.invalidArgument(param: name, message: "\(name) is required (a non-empty string)")
    }
    return value
  }

  /// An optional string argument.
  static func optionalString(_ arguments: [String: JSONValue], _ name: String) throws -> String? {
    guard let value = arguments[name], value != .null else { return nil }
    guard let text = value.stringValue else { throw wrongType(name, "a string", value) }
    return text
  }

  /// An optional finite number argument.
  static func number(_ arguments: [String: JSONValue], _ name: String) throws -> Double? {
    guard let value = arguments[name], value != .null else { return nil }
    guard let number = value.numberValue, number.isFinite else { throw wrongType(name, "a number", value) }
    return number
  }

  /// An optional whole-number argument.
  static func integer(_ arguments: [String: JSONValue], _ name: String) throws -> Int? {
    guard let number = try number(arguments, name) else { return nil }
    guard number == number.rounded(), abs(number) < 1e15 else {
      throw wrongType(name, "an integer", .number(number))
    }
    return Int(number)
  }

  /// An optional boolean argument (a JSON `true`/`false` only: `"true"` or `1` is refused).
  static func flag(_ value: JSONValue?, _ name: String) throws -> Bool {
    guard let value, value != .null else { return false }
    guard let flag = value.boolValue else { throw wrongType(name, "true or false", value) }
    return flag
  }

  static func wrongType(_ name: String, _ expected: String, _ value: JSONValue) -> VlatuneError {
    .invalidArgument(
      param: name, message: "\(name) must be \(expected), got \(ParameterTable.shown(value)) (\(value.typeName))")
  }

  static func only(_ arguments: [String: JSONValue], _ allowed: Set<String>) throws {
    if let unknown = arguments.keys.sorted().first(where: { !allowed.contains($0) }) {
      throw VlatuneError.invalidArgument(
        param: unknown,
        message: "unknown argument '\(unknown)'; allowed: "
          + (allowed.isEmpty ? "none" : allowed.sorted().joined(separator: ", ")))
    }
  }

  /// A document as the result (with `note`, a first text item saying what the call did not do).
  static func result<T: Encodable>(_ document: T, note: String? = nil) throws -> CallTool.Result {
    let text = try JSONOutput.string(document)
    let value = MCPValue.from(try JSONParser.parse(text))
    let content: [Tool.Content] =
      (note.map { [.text(text: $0, annotations: nil, _meta: nil)] } ?? [])
      + [.text(text: text, annotations: nil, _meta: nil)]
    return CallTool.Result(content: content, structuredContent: value as Value?, isError: false)
  }

  static func failure(_ error: VlatuneError) -> CallTool.Result {
    let document = ErrorDocument(error)
    let text = (try? JSONOutput.string(document)) ?? error.message
    let value = (try? JSONParser.parse(text)).map(MCPValue.from)
    return CallTool.Result(
      content: [
        .text(text: "Error: \(error.message)", annotations: nil, _meta: nil),
        .text(text: text, annotations: nil, _meta: nil),
      ],
      structuredContent: value, isError: true)
  }
}
