import VlatuneSupport

/// Who is acting, for rate limits, budgets and audit (CONTRACT §8): an explicit `--actor`, else
/// `$VLATUNE_ACTOR`, else `cli:$USER` (the MCP adapter passes `mcp:<client name>`).
public enum ActorName {
  /// The actor of a CLI command.
  ///
  /// - Throws: ``VlatuneError/invalidArgument(param:message:)`` for an actor with control
  ///   characters (they could forge lines in messages and logs).
  public static func resolve(explicit: String?, environment: [String: String]) throws -> String {
    let (actor, source): (String, String)
    if let explicit, !explicit.isEmpty {
      (actor, source) = (explicit, "--actor")
    } else if let named = environment["VLATUNE_ACTOR"], !named.isEmpty {
      (actor, source) = (named, "VLATUNE_ACTOR")
    } else {
      (actor, source) = ("cli:\(environment["USER"] ?? environment["LOGNAME"] ?? "unknown")", "USER")
    }
    try check(actor, source: source)
    return actor
  }

  /// The actor of an MCP client: `mcp:` and its `clientInfo.name` (control characters written
  /// out, at most 256 bytes in all).
  public static func mcp(clientName: String?) -> String {
    var name = TerminalText.escaped(clientName ?? "unknown")
    while name.utf8.count > 252 { name.removeLast() }  // 256 bytes with "mcp:", like a CLI actor
    return "mcp:" + name
  }

  /// Refuses an actor with control characters, or longer than 256 bytes.
  public static func check(_ actor: String, source: String) throws {
    guard !TerminalText.hasControlCharacters(actor), actor.utf8.count <= 256 else {
      throw VlatuneError.invalidArgument(
        param: source,
        message: "the actor must be at most 256 bytes without control characters, got "
          + "'\(TerminalText.escaped(String(actor.prefix(256))))'")
    }
  }
}
