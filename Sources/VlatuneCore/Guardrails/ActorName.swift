/// Who is acting, for rate limits, budgets and audit (CONTRACT §8): an explicit `--actor`, else
/// `$VLATUNE_ACTOR`, else `cli:$USER` (the MCP adapter passes `mcp:<client name>`).
public enum ActorName {
  /// The actor of a CLI command.
  public static func resolve(explicit: String?, environment: [String: String]) -> String {
    if let explicit, !explicit.isEmpty { return explicit }
    if let actor = environment["VLATUNE_ACTOR"], !actor.isEmpty { return actor }
    return "cli:\(environment["USER"] ?? environment["LOGNAME"] ?? "unknown")"
  }
}
