import ArgumentParser
import Foundation
import VlatuneCore

/// `vlatune job …`.
struct JobCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "job",
    abstract: "Start, watch, wait for and cancel fine-tuning jobs.",
    subcommands: [
      Start.self, Resume.self, Eval.self, Status.self, List.self, Logs.self, Metrics.self, Checkpoints.self,
      ShowConfig.self,
      Wait.self,
      Cancel.self, Watch.self,
    ]
  )
}

/// Options shared by commands that act on behalf of someone.
struct ActorOptions: ParsableArguments {
  @Option(help: "Who is acting, for limits and audit (default $VLATUNE_ACTOR, else cli:$USER).")
  var actor: String?

  func resolved(_ environment: [String: String]) throws -> String {
    try ActorName.resolve(explicit: actor, environment: environment)
  }
}

/// The actor and policy of a command that calls a guarded tool (``GuardedTool``): it is admitted
/// through the core's ``ToolGate`` before it does anything, as the same tool over MCP is.
struct GuardOptions: ParsableArguments {
  @OptionGroup var actor: ActorOptions
  @OptionGroup var policy: PolicyOptions

  /// Admits the call or throws its refusal (audited either way).
  func admit(
    _ tool: String, _ arguments: [String: JSONValue], reference: String?, context: VlatuneContext
  ) throws {
    try Self.admit(
      tool, arguments, reference: reference, context: context, actor: actor.actor, policy: policy.policy)
  }

  /// Admits a call with an explicit actor and policy file (`nil`: the environment's).
  static func admit(
    _ tool: String, _ arguments: [String: JSONValue], reference: String?, context: VlatuneContext,
    actor: String?, policy: String?
  ) throws {
    let resolved = try PolicyLoader.resolve(explicit: policy, environment: context.environment, home: context.home)
    try ToolGate(context: context, policy: resolved).admit(
      tool, actor: try ActorName.resolve(explicit: actor, environment: context.environment),
      arguments: arguments, reference: reference)
  }
}

extension JobCommand {
  /// The hidden watcher: `vlatune job __watch ID`, started detached by `job start`.
  struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "__watch", abstract: "Supervise one job (internal).", shouldDisplay: false)

    @Argument var job: String
    @Flag(help: "Run as the Slurm batch step of the job's allocation.") var inAllocation = false

    func run() throws {
      signal(SIGHUP, SIG_IGN)
      signal(SIGINT, SIG_IGN)
      signal(SIGPIPE, SIG_IGN)
      let context = try VlatuneContext.open(environment: ProcessInfo.processInfo.environment)
      let token = CancellationToken()
      let trap = SignalTrap([SIGTERM], token: token)
      let status = withExtendedLifetime(trap) {
        JobWatcher(context: context, cancellation: token, inAllocation: inAllocation).run(jobID: job)
      }
      throw ExitCode(status)
    }
  }
}
