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

  func call(_ name: String, arguments: [String: Value], actor: String) async throws -> CallTool.Result {
    do {
      switch name {
      case "prepare_dataset":
        let request = try PrepareRequest(parameters: arguments.mapValues(MCPValue.to), actor: actor)
        try request.validate()
        let document = try await Self.detached {
          try context.preparer(policy: policy).prepare(request)
        }
        return try Self.result(document)
      case "start_finetune_job":
        var values = arguments.mapValues(MCPValue.to)
        let dryRun = values.removeValue(forKey: "dry_run") == .bool(true)
        let raw = values
        let launcher = JobLauncher(context: context, policy: policy, watcherExecutable: watcherExecutable)
        let outcome = try await Self.detached { try launcher.start(raw, actor: actor, dryRun: dryRun) }
        switch outcome {
        case .started(let document), .replayed(let document): return try Self.result(document)
        case .dryRun(let report): return try Self.result(report)
        }
      case "get_finetune_job":
        let reference = try Self.string(arguments, "job")
        try Self.only(arguments, ["job"])
        return try Self.result(try JobControl(context: context).status(reference))
      case "list_finetune_jobs":
        try Self.only(arguments, ["state", "limit"])
        if let state = arguments["state"], state.stringValue == nil {
          throw VlatuneError.invalidArgument(param: "state", message: "must be a string, got \(state)")
        }
        if let limit = arguments["limit"], limit.intValue == nil {
          throw VlatuneError.invalidArgument(param: "limit", message: "must be an integer, got \(limit)")
        }
        let jobs = try JobControl(context: context).list(
          stateName: arguments["state"]?.stringValue, limit: arguments["limit"]?.intValue ?? 50)
        return try Self.result(JobListDocument(jobs: jobs))
      case "cancel_finetune_job":
        let reference = try Self.string(arguments, "job")
        try Self.only(arguments, ["job", "grace_seconds", "reason"])
        let grace = arguments["grace_seconds"].flatMap { $0.doubleValue ?? $0.intValue.map(Double.init) } ?? 30
        guard grace >= 0 && grace <= 86_400 else {
          throw VlatuneError.invalidArgument(param: "grace_seconds", message: "must be in 0…86400, got \(grace)")
        }
        let document = try JobControl(context: context).cancel(
          reference, grace: grace, reason: arguments["reason"]?.stringValue, actor: actor, wait: false)
        return try Self.result(document)
      case "list_datasets":
        try Self.only(arguments, [])
        return try Self.result(DatasetListDocument(datasets: try context.datasets.list()))
      default:
        throw MCPError.invalidParams("Unknown tool: \(name)")
      }
    } catch let error as VlatuneError {
      return Self.failure(error)
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

  static func string(_ arguments: [String: Value], _ name: String) throws -> String {
    guard let value = arguments[name]?.stringValue, !value.isEmpty else {
      throw VlatuneError.invalidArgument(param: name, message: "is required (a non-empty string)")
    }
    return value
  }

  static func only(_ arguments: [String: Value], _ allowed: Set<String>) throws {
    if let unknown = arguments.keys.sorted().first(where: { !allowed.contains($0) }) {
      throw VlatuneError.invalidArgument(
        param: unknown,
        message: "unknown argument '\(unknown)'; allowed: \(allowed.sorted().joined(separator: ", "))")
    }
  }

  static func result<T: Encodable>(_ document: T) throws -> CallTool.Result {
    let text = try JSONOutput.string(document)
    let value = MCPValue.from(try JSONParser.parse(text))
    return CallTool.Result(
      content: [.text(text: text, annotations: nil, _meta: nil)], structuredContent: value as Value?,
      isError: false)
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
