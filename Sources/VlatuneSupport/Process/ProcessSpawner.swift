internal import CSpawn
import Glibc

/// Starts processes without a shell: explicit executable path, argv and environment, default
/// signal dispositions, no inherited descriptors beyond 0–2 (and an optional lock as fd 3).
public enum ProcessSpawner {
  /// How to start a child.
  public struct Options: Sendable {
    /// Descriptor for stdin (`nil`: /dev/null).
    public var standardInput: Int32?
    /// Descriptor for stdout (`nil`: /dev/null).
    public var standardOutput: Int32?
    /// Descriptor for stderr (`nil`: /dev/null).
    public var standardError: Int32?
    /// A descriptor handed to the child as fd 3.
    public var inheritedDescriptor: Int32?
    /// Start a new session (detached from the caller's terminal and process group).
    public var newSession = false
    /// Start a new process group led by the child.
    public var newProcessGroup = false
    /// Signal sent to the child when the spawning thread's process dies.
    public var parentDeathSignal: Int32?

    /// All descriptors to /dev/null, same session.
    public init() {}
  }

  /// Starts `arguments[0]` (an absolute or relative path; no `PATH` search).
  ///
  /// - Returns: The child's pid.
  /// - Throws: ``VlatuneError/resourceUnavailable(message:)`` naming the executable and the
  ///   errno text when fork or exec fails.
  public static func spawn(
    _ arguments: [String], environment: [String: String], options: Options
  ) throws -> Int32 {
    guard let executable = arguments.first else {
      throw VlatuneError.invalidArgument(param: "command", message: "empty command")
    }
    let argv = arguments.map { strdup($0) } + [nil]
    let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
      for pointer in argv { free(pointer) }
      for pointer in envp { free(pointer) }
    }
    var spawnOptions = vlatune_spawn_options(
      stdin_fd: options.standardInput ?? -1, stdout_fd: options.standardOutput ?? -1,
      stderr_fd: options.standardError ?? -1, inherit_fd: options.inheritedDescriptor ?? -1,
      new_session: options.newSession ? 1 : 0, new_process_group: options.newProcessGroup ? 1 : 0,
      parent_death_signal: options.parentDeathSignal ?? 0)
    var failure: Int32 = 0
    let pid = argv.withUnsafeBufferPointer { argvBuffer in
      envp.withUnsafeBufferPointer { envpBuffer in
        vlatune_spawn(
          executable, argvBuffer.baseAddress, envpBuffer.baseAddress, &spawnOptions, &failure)
      }
    }
    guard pid > 0 else {
      throw VlatuneError.resourceUnavailable(
        message: "cannot execute \(executable): \(String(cString: strerror(failure)))")
    }
    return pid
  }

  /// A pipe whose two ends close on exec (`(read, write)`).
  ///
  /// - Throws: ``VlatuneError/resourceUnavailable(message:)`` with the errno text.
  public static func pipe() throws -> (read: Int32, write: Int32) {
    var ends: [Int32] = [-1, -1]
    guard vlatune_pipe_cloexec(&ends) == 0 else {
      throw VlatuneError.resourceUnavailable(message: "cannot create a pipe: \(String(cString: strerror(errno)))")
    }
    return (ends[0], ends[1])
  }

  /// Reaps `pid` (waiting for it unless `block` is false) and returns its exit status, 128 +
  /// the signal when a signal ended it, or `nil` while it still runs (`block` false) or when it
  /// is not this process's child.
  public static func reap(_ pid: Int32, block: Bool = true) -> Int32? {
    var status: Int32 = 0
    while true {
      let result = waitpid(pid, &status, block ? 0 : WNOHANG)
      if result == pid { break }
      if result == -1 && errno == EINTR { continue }
      return nil
    }
    let signal = status & 0x7f
    return signal == 0 ? (status >> 8) & 0xff : 128 + signal
  }

  /// The start time of a process (clock ticks since boot, /proc/<pid>/stat field 22), or 0 when
  /// it does not exist. Comparing it with a recorded value detects pid reuse.
  public static func startTime(of pid: Int32) -> Int64 {
    Int64(vlatune_process_start_time(pid))
  }

  /// Whether the process exists and is not a zombie.
  public static func isAlive(_ pid: Int32, startTime: Int64? = nil) -> Bool {
    let state = vlatune_process_state(pid)
    guard state != 0, state != CChar(UInt8(ascii: "Z")), state != CChar(UInt8(ascii: "X")) else {
      return false
    }
    if let startTime { return Self.startTime(of: pid) == startTime }
    return true
  }

  /// The absolute path of the running executable.
  public static var currentExecutable: String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    return length > 0
      ? String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
      : CommandLine.arguments[0]
  }
}
