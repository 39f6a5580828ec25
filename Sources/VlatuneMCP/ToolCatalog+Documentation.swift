import MCP

/// The generated tool table of `docs/mcp.md`.
public enum MCPDocumentation {
  /// A Markdown table of the tools: name, hints, arguments, description.
  public static func toolTable() -> String {
    var lines = [
      "| tool | read-only | destructive | idempotent | arguments | description |",
      "| --- | --- | --- | --- | --- | --- |",
    ]
    for tool in ToolCatalog.tools {
      let schema = tool.inputSchema.objectValue ?? [:]
      let required = Set(schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
      let names = (schema["properties"]?.objectValue ?? [:]).keys.sorted().map {
        required.contains($0) ? "**\($0)**" : $0
      }
      func flag(_ value: Bool?) -> String { value == true ? "yes" : "no" }
      lines.append(
        "| `\(tool.name)` | \(flag(tool.annotations.readOnlyHint)) | "
          + "\(flag(tool.annotations.destructiveHint)) | \(flag(tool.annotations.idempotentHint)) | "
          + "\(names.joined(separator: ", ")) | \(tool.description ?? "") |")
    }
    return lines.joined(separator: "\n") + "\n"
  }
}
