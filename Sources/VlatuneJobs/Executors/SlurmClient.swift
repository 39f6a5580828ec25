import Foundation
import VlatuneSupport

/// Talks to Slurm through its commands: `sbatch --parsable`, `squeue --json` (falling back to
/// `scontrol show job` and `sacct` for jobs squeue no longer lists) and `scancel`.
public struct SlurmClient: Sendable {
  /// The environment the commands run with (`PATH`, `SLURM_CONF`).
  public let environment: [String: String]

  /// - Parameter environment: Where to find the commands and the cluster's configuration.
  public init(environment: [String: String]) { self.environment = environment }

  /// One job as Slurm sees it.
  public struct Status: Sendable, Equatable {
    /// The base state (`PENDING`, `RUNNING`, `COMPLETED`, `FAILED`, `TIMEOUT`, …).
    public var state: String
    /// The pending or failure reason.
    public var reason: String?
    /// The batch script's exit code.
    public var exitCode: Int?
  }

  /// Submits a script; returns the Slurm job id.
  ///
  /// - Throws: 64 when Slurm rejects a setting (partition, account, QOS, time limit), else 69 —
  ///   both with Slurm's own message.
  public func submit(script: String) throws -> String {
    let result = try run("sbatch", ["--parsable", script])
    guard result.status == 0 else {
      let message = result.error.trimmingCharacters(in: .whitespacesAndNewlines)
      let lowered = message.lowercased()
      for (word, parameter) in [
        ("partition", "slurm_partition"), ("account", "slurm_account"), ("qos", "slurm_qos"),
        ("time limit", "time_limit"),
      ] where lowered.contains(word) {
        throw VlatuneError.invalidArgument(
          param: parameter, message: "Slurm refused the job: \(message)")
      }
      throw VlatuneError.resourceUnavailable(message: "sbatch failed: \(message)")
    }
    let id = result.output.split(separator: "\n").first.map { String($0.split(separator: ";")[0]) } ?? ""
    guard !id.isEmpty, id.allSatisfy(\.isNumber) else {
      throw VlatuneError.resourceUnavailable(message: "sbatch printed no job id: \(result.output)")
    }
    return id
  }

  /// The job's state, or `nil` when no Slurm command knows it.
  public func status(_ id: String) -> Status? {
    if let result = try? run("squeue", ["--json", "--states=all", "--jobs=\(id)"]), result.status == 0,
      let status = Self.parseSqueue(result.output, id: id)
    {
      return status
    }
    if let result = try? run("scontrol", ["show", "job", "--oneliner", id]), result.status == 0,
      let status = Self.parseScontrol(result.output)
    {
      return status
    }
    if let result = try? run("sacct", ["-j", id, "-X", "-n", "-P", "-o", "State,ExitCode,Reason"]),
      result.status == 0, let status = Self.parseSacct(result.output)
    {
      return status
    }
    return nil
  }

  /// `scancel`: with `signal`, only sends it to the batch step; without, ends the job. Cancelling
  /// a finished job is a success, as in Slurm.
  public func cancel(_ id: String, signal: String? = nil) {
    var arguments = ["--quiet"]
    if let signal { arguments += ["--batch", "--signal=\(signal)"] }
    _ = try? run("scancel", arguments + [id])
  }

  /// Parses `squeue --json` (Slurm 22.05: `jobs[].job_state`, `state_reason`, `exit_code`).
  static func parseSqueue(_ text: String, id: String) -> Status? {
    guard let jobs = (try? JSONParser.parse(text))?["jobs"]?.arrayValue else { return nil }
    for job in jobs {
      let jobID = job["job_id"]?.numberValue.map { String(Int($0)) }
      guard jobID == id, let state = job["job_state"]?.stringValue else { continue }
      let reason = job["state_reason"]?.stringValue.flatMap { $0 == "None" ? nil : $0 }
      let exit =
        job["exit_code"]?.numberValue.map { Int($0) }
        ?? job["exit_code"]?["return_code"]?.numberValue.map { Int($0) }
      return Status(state: state, reason: reason, exitCode: exit)
    }
    return nil
  }

  /// Parses `scontrol show job --oneliner` (`JobState=… Reason=… ExitCode=code:signal`).
  static func parseScontrol(_ text: String) -> Status? {
    var fields: [String: String] = [:]
    for word in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
      let parts = word.split(separator: "=", maxSplits: 1)
      if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
    }
    guard let state = fields["JobState"] else { return nil }
    let exit = fields["ExitCode"].flatMap { Int($0.split(separator: ":").first ?? "") }
    return Status(state: state, reason: fields["Reason"].flatMap { $0 == "None" ? nil : $0 }, exitCode: exit)
  }

  /// Parses `sacct -X -n -P -o State,ExitCode,Reason` (`CANCELLED by 0|0:15|None`).
  static func parseSacct(_ text: String) -> Status? {
    guard let line = text.split(separator: "\n").first else { return nil }
    let parts = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
    guard let state = parts.first?.split(separator: " ").first.map(String.init), !state.isEmpty else {
      return nil
    }
    let exit = parts.count > 1 ? Int(parts[1].split(separator: ":").first ?? "") : nil
    let reason = parts.count > 2 && parts[2] != "None" ? parts[2] : nil
    return Status(state: state, reason: reason, exitCode: exit)
  }

  /// Runs one of Slurm's commands with this client's environment.
  func run(_ command: String, _ arguments: [String]) throws -> CommandRunner.Result {
    do {
      return try CommandRunner.run(command, arguments, environment: environment)
    } catch let error as VlatuneError {
      throw VlatuneError.resourceUnavailable(
        message: "\(error.message): install Slurm's client commands or use --executor local")
    }
  }
}

/// How Slurm's states map onto vlatune's.
public enum SlurmStateMapping {
  /// The vlatune state for a Slurm state, and the error code for failures.
  public static func map(_ state: String) -> (state: JobState, errorCode: String?) {
    switch state {
    case "PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SUSPENDED":
      (.queued, nil)
    case "RUNNING", "COMPLETING", "SIGNALING", "STAGE_OUT", "STOPPED":
      (.running, nil)
    case "COMPLETED": (.succeeded, nil)
    case "CANCELLED": (.cancelled, nil)
    case "TIMEOUT": (.failed, "slurm_timeout")
    case "OUT_OF_MEMORY": (.failed, "oom")
    case "NODE_FAIL": (.failed, "slurm_node_fail")
    case "PREEMPTED": (.failed, "slurm_preempted")
    case "BOOT_FAIL": (.failed, "slurm_boot_fail")
    case "DEADLINE": (.failed, "slurm_deadline")
    default: (.failed, "slurm_failed")
    }
  }
}
