import ArgumentParser
import Foundation
import VlatuneCore

/// `vlatune policy …`.
struct PolicyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "policy", abstract: "Show or check the policy that guards every tool (job and dataset commands, MCP).",
    subcommands: [Show.self, Check.self])

  /// `vlatune policy show`.
  struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "show",
      abstract: "Print the effective policy (or the one in FILE).")
    @Argument(help: "Policy file (default: --policy, $VLATUNE_POLICY, $VLATUNE_HOME/policy.yaml, built-in).")
    var file: String?
    @OptionGroup var policy: PolicyOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
      let context = try VlatuneContext.open(environment: ProcessInfo.processInfo.environment)
      let effective = try file.map { try PolicyLoader.load(file: $0) } ?? policy.resolved(context)
      if json {
        Output.json(Document(policy: effective))
      } else {
        Output.standardOutput(PolicyText.render(effective))
      }
    }
  }

  /// `vlatune policy check [FILE]`.
  struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "check",
      abstract: "Check a policy file and report every error with its line (exit 64 when invalid).")
    @Argument(help: "Policy file (default: the effective policy's file).") var file: String?
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
      let environment = ProcessInfo.processInfo.environment
      let effective: Policy
      if let file {
        effective = try PolicyLoader.load(file: file)
      } else {
        effective = try PolicyLoader.resolve(
          explicit: nil, environment: environment, home: VlatuneHome.resolve(environment: environment))
      }
      if json {
        Output.json(Document(policy: effective))
      } else {
        Output.standardOutput("\(effective.source): ok (\(effective.digest))\n")
      }
    }
  }

  struct Document: Encodable {
    var schemaVersion = 1
    var valid = true
    var policy: Policy
    enum CodingKeys: String, CodingKey {
      case valid, policy
      case schemaVersion = "schema_version"
    }
  }
}

/// A readable rendering of a policy.
enum PolicyText {
  static func render(_ policy: Policy) -> String {
    var lines = ["policy \(policy.source) (\(policy.digest)), default \(policy.defaultAction)"]
    if !policy.hide.isEmpty { lines.append("  hidden: \(policy.hide.joined(separator: ", "))") }
    let tools = policy.tools.keys.filter { $0 != "*" }.sorted() + (policy.tools["*"] == nil ? [] : ["*"])
    for tool in tools {
      let rules = policy.tools[tool] ?? []
      if rules.isEmpty { lines.append("  \(tool): listed, no rules") }
      for (index, rule) in rules.enumerated() {
        var parts = [rule.name.map { "rule '\($0)'" } ?? "rule \(index + 1)", rule.action]
        if let limit = rule.rateLimit {
          let calls = tool == "*" ? "calls of all tools together" : "calls"
          parts.append("at most \(limit.max) \(calls) per \(ParameterDefinition.format(limit.window)) s per actor")
        }
        if rule.requiredArgs { parts.append("required arguments checked") }
        if !rule.conditions.isEmpty {
          parts.append(
            "when "
              + rule.conditions.map {
                "\($0.path) \($0.op) \(ParameterTable.shown($0.value.value))"
              }.joined(separator: " and "))
        }
        var text = "  \(tool): " + parts.joined(separator: ", ")
        if let reason = rule.reason { text += " (on deny: \(reason))" }
        lines.append(text)
      }
    }
    let limits = policy.limits
    lines.append(
      "  limits: max_running_jobs \(limits.maxRunningJobs), max_queued_jobs \(limits.maxQueuedJobs), gpu_hours_per_day \(limits.gpuHoursPerDay)"
    )
    lines.append("          base_models \(limits.baseModels), dataset_roots \(limits.datasetRoots)")
    lines.append("          step_seconds \(limits.stepSeconds), idempotency_ttl_hours \(limits.idempotencyTTLHours)")
    return lines.joined(separator: "\n") + "\n"
  }
}

/// `vlatune __docs parameters|parameters-json|mcp-tools`: prints generated documentation (hidden).
struct DocsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "__docs", abstract: "Print generated documentation.", shouldDisplay: false)
  @Argument var topic: String

  func run() throws {
    switch topic {
    case "parameters": Output.standardOutput(ParameterDocumentation.markdown())
    case "parameters-json": Output.json(AnyJSON(JobParameters.table.summary()))
    case "mcp-tools": try SiblingExecutable.replaceProcess(with: "vlatune-mcp", arguments: ["--tool-table"])
    default:
      throw VlatuneError.invalidArgument(
        param: "topic", message: "must be parameters, parameters-json or mcp-tools, got '\(topic)'")
    }
  }
}

/// `vlatune __bench limiter ITERATIONS`: in-process limiter decision latency (hidden; used by
/// `make bench`).
struct BenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "__bench", abstract: "Micro-benchmarks (internal).", shouldDisplay: false)
  @Argument var subject: String
  @Argument var iterations: Int = 2000

  func run() throws {
    guard subject == "limiter" else {
      throw VlatuneError.invalidArgument(param: "subject", message: "must be limiter, got '\(subject)'")
    }
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("vlatune-bench-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let result = try LimiterBenchmark.run(
      iterations: iterations, path: directory.appendingPathComponent("bench.db").path)
    Output.standardOutput(
      "{\"iterations\": \(iterations), \"median_us\": \(result.median), \"p95_us\": \(result.p95)}\n")
  }
}
