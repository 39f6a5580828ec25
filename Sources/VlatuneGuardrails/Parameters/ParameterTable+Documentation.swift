import VlatuneSupport

extension ParameterTable {
  /// The table as JSON, `[{"name", "type", "default"?, "required"}]` (`vlatune __docs
  /// parameters-json`): what the trainer's typed spec is checked against.
  public func summary() -> JSONValue {
    .array(
      definitions.map { definition in
        var entry: [String: JSONValue] = [
          "name": .string(definition.name), "type": .string(Self.typeName(definition.kind)),
          "required": .bool(definition.required),
        ]
        if let value = definition.defaultValue { entry["default"] = value }
        return .object(entry)
      })
  }

  /// A kind's type in words, as the documentation and the summary name it.
  static func typeName(_ kind: ParameterDefinition.Kind) -> String {
    switch kind {
    case .string: "string"
    case .integer: "integer"
    case .number: "number"
    case .boolean: "boolean"
    case .choice: "string (enum)"
    case .keyValues: "object of strings"
    case .stringList: "array of strings"
    }
  }

  /// The table as Markdown rows: name, flag, type, allowed, default, required, help.
  public func markdown() -> String {
    var lines = [
      "| parameter | flag | type | allowed | default | required | description |",
      "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for definition in definitions {
      let type = Self.typeName(definition.kind)
      let fallback =
        definition.defaultValue.map { "`" + ((try? JSONOutput.string(AnyJSON($0), pretty: false)) ?? "") + "`" }
        ?? "—"
      let allowed = definition.allowed + (definition.unit.map { " \($0)" } ?? "")
      lines.append(
        "| `\(definition.name)` | `\(definition.flag)` | \(type) | \(allowed) | \(fallback) | "
          + "\(definition.required ? "yes" + (definition.requiredUnless.map { " (unless `\($0)`)" } ?? "") : "no") | \(definition.help) |"
      )
    }
    return lines.joined(separator: "\n") + "\n"
  }
}

/// The generated reference of every tool's parameters (`docs/parameters.md`).
public enum ParameterDocumentation {
  /// The whole document.
  public static func markdown() -> String {
    """
    # Parameters

    Generated from the parameter tables in `Sources/VlatuneGuardrails/Parameters/` by
    `vlatune __docs parameters`; a test fails when this file and the tables disagree.
    The same tables validate CLI options, generate the MCP input schemas and fill `--dry-run`.
    Every problem is reported at once, naming the parameter, the allowed range and the value
    (exit 64, error code `invalid_argument`).

    ## `job start` / `start_finetune_job`

    \(JobParameters.table.markdown())
    ## `dataset prepare` / `prepare_dataset`

    \(PrepareParameters.table.markdown())
    ## `job eval` / `evaluate_policy`

    \(EvalParameters.table.markdown())
    """
  }
}
