import Foundation

/// Resolves the trainer command and the trainer's explicit environment (CONTRACT §7).
///
/// Command: `VLATUNE_TRAINER` (a JSON array of strings, or words separated by spaces), else
/// `<python> -m vlatune_trainer` with python from `VLATUNE_PYTHON`, else the project's virtual
/// environment next to the binary (`<repo>/.venv` for a build tree), else `$VLATUNE_HOME/venv`,
/// else `python3` on `PATH`. `--spec <spec.json>` is appended when the trainer starts.
///
/// Environment: only `PATH`, `HOME`, `USER`, `LOGNAME`, `LANG`, `LC_ALL`, `TMPDIR`, `TZ`, the
/// names listed in `VLATUNE_TRAINER_ENV` (comma-separated), and `PYTHONUNBUFFERED=1`; the watcher
/// adds `CUDA_VISIBLE_DEVICES` and `VLATUNE_JOB_ID`.
public enum TrainerCommand {
  static let passedVariables = ["PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TMPDIR", "TZ"]

  /// The trainer's command line (without `--spec`).
  public static func argv(environment: [String: String], home: VlatuneHome) throws -> [String] {
    var command: [String]
    if let configured = environment["VLATUNE_TRAINER"], !configured.isEmpty {
      if configured.hasPrefix("[") {
        guard let parsed = try? JSONParser.parse(configured).arrayValue?.compactMap(\.stringValue),
          !parsed.isEmpty
        else {
          throw VlatuneError.invalidArgument(
            param: "VLATUNE_TRAINER", message: "must be a JSON array of strings or a command line")
        }
        command = parsed
      } else {
        command = configured.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
      }
    } else {
      command = [python(environment: environment, home: home), "-m", "vlatune_trainer"]
    }
    command[0] = resolveExecutable(command[0], path: environment["PATH"])
    return command
  }

  static func python(environment: [String: String], home: VlatuneHome) -> String {
    if let explicit = environment["VLATUNE_PYTHON"], !explicit.isEmpty { return explicit }
    // Paths are joined as text: resolving the venv's python symlink would lose the venv.
    var binary = ProcessSpawner.currentExecutable
    binary = String(binary[..<(binary.lastIndex(of: "/") ?? binary.endIndex)])
    func up(_ levels: Int) -> String {
      var path = binary
      for _ in 0..<levels { path = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) }
      return path
    }
    let candidates = [
      up(2) + "/.venv/bin/python",
      up(3) + "/.venv/bin/python",
      up(1) + "/share/vlatune/venv/bin/python",
      home.root.path + "/venv/bin/python",
    ]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? "python3"
  }

  /// An absolute path for `name` (searched in `PATH` when it has no slash); unchanged when not
  /// found, so that starting it fails with a clear `spawn_failed`.
  static func resolveExecutable(_ name: String, path: String?) -> String {
    guard !name.contains("/") else { return name }
    for directory in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
      let candidate = "\(directory)/\(name)"
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return name
  }

  /// The trainer's environment.
  public static func environment(from environment: [String: String]) -> [String: String] {
    var names = passedVariables
    if let extra = environment["VLATUNE_TRAINER_ENV"] {
      names += extra.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }
    var result: [String: String] = ["PYTHONUNBUFFERED": "1"]
    for name in names { if let value = environment[name] { result[name] = value } }
    if result["PATH"] == nil { result["PATH"] = "/usr/local/bin:/usr/bin:/bin" }
    return result
  }
}
