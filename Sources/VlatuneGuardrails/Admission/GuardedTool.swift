import VlatuneSupport

/// A tool the policy guards: its name in policies and the audit log, the CLI commands that are
/// the same tool, and the arguments its calls carry (what policy conditions may test).
///
/// The CLI and MCP alike call each tool through ``ToolGate`` (or, for `start_finetune_job` and
/// `prepare_dataset`, through the same ``Admission`` inside their own transaction), with the
/// arguments named as here.
public struct GuardedTool: Sendable {
  /// The name (`start_finetune_job`, …).
  public let name: String
  /// The CLI commands that call it (for docs and messages).
  public let commands: [String]
  /// The argument names a call may carry.
  public let arguments: [String]
  /// The arguments `validate: {required_args: true}` requires.
  public let required: [String]
  /// Whether `vlatune mcp` serves it (the others are CLI-only tools a policy can still rule).
  public let servedOverMCP: Bool
  /// The parameter table that validates its arguments, when it has one.
  public let table: ParameterTable?
  /// Whether a call only reads (its allowed calls need no row in `audit_log`; see ``ToolGate``).
  public let readOnly: Bool

  init(
    name: String, commands: [String], arguments: [String], required: [String], servedOverMCP: Bool,
    table: ParameterTable? = nil, readOnly: Bool = false
  ) {
    self.name = name
    self.commands = commands
    self.arguments = arguments
    self.required = required
    self.servedOverMCP = servedOverMCP
    self.table = table
    self.readOnly = readOnly
  }

  init(name: String, commands: [String], table: ParameterTable, extra: [String] = []) {
    self.init(
      name: name, commands: commands, arguments: table.definitions.map(\.name) + extra,
      required: table.definitions.filter(\.required).map(\.name), servedOverMCP: true, table: table)
  }

  /// Every guarded tool.
  public static let all: [GuardedTool] = [
    GuardedTool(
      name: "start_finetune_job", commands: ["job start"], table: JobParameters.table, extra: ["dry_run"]),
    GuardedTool(name: "resume_finetune_job", commands: ["job resume"], table: ResumeParameters.table),
    GuardedTool(name: "prepare_dataset", commands: ["dataset prepare"], table: PrepareParameters.table),
    GuardedTool(name: "evaluate_policy", commands: ["job eval"], table: EvalParameters.table),
    GuardedTool(
      name: "get_finetune_job",
      commands: ["job status", "job wait", "job logs", "job metrics", "job show-config", "job checkpoints", "predict"],
      arguments: ["job"],
      required: ["job"], servedOverMCP: true, readOnly: true),
    GuardedTool(
      name: "list_finetune_jobs", commands: ["job list"], arguments: ["state", "limit", "name_prefix", "metadata"],
      required: [],
      servedOverMCP: true, readOnly: true),
    GuardedTool(
      name: "cancel_finetune_job", commands: ["job cancel"],
      arguments: ["job", "grace_seconds", "reason"], required: ["job"], servedOverMCP: true),
    GuardedTool(
      name: "list_datasets", commands: ["dataset list"], arguments: [], required: [], servedOverMCP: true,
      readOnly: true),
    GuardedTool(
      name: "get_dataset", commands: ["dataset show"], arguments: ["dataset"], required: ["dataset"],
      servedOverMCP: false, readOnly: true),
    GuardedTool(
      name: "verify_dataset", commands: ["dataset verify"], arguments: ["dataset"],
      required: ["dataset"], servedOverMCP: false, readOnly: true),
    GuardedTool(
      name: "remove_dataset", commands: ["dataset rm"], arguments: ["dataset"], required: ["dataset"],
      servedOverMCP: false),
  ]

  /// The tool of a name.
  public static func named(_ name: String) -> GuardedTool? { all.first { $0.name == name } }
}
