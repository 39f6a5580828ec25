import Foundation
import VlatuneStore
import VlatuneSupport

/// Resolves the trainer command and the trainer's explicit environment (CONTRACT §7).
///
/// Command: `VLATUNE_TRAINER` (a JSON array of strings, or words separated by spaces), else
/// `<python> -m vlatune_trainer` with python from `VLATUNE_PYTHON`, else the project's virtual
/// environment next to the binary (`<repo>/.venv` for a build tree; `.venv-lerobot` when the
/// base model is a LeRobot checkpoint), else `$VLATUNE_HOME/venv` (`venv-lerobot`), else
/// `python3` on `PATH`. `--spec <spec.json>` is appended when the trainer starts.
///
/// Environment: only `PATH`, `HOME`, `USER`, `LOGNAME`, `LANG`, `LC_ALL`, `TMPDIR`, `TZ`, the
/// names listed in `VLATUNE_TRAINER_ENV` (comma-separated), and `PYTHONUNBUFFERED=1`; the watcher
/// adds `CUDA_VISIBLE_DEVICES` and `VLATUNE_JOB_ID`. The listed names' values (tokens) are never
/// written to the spec or the database: the watcher is started with them in its (reduced)
/// environment and passes them on.
public enum TrainerCommand {
  static let passedVariables = ["PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TMPDIR", "TZ"]

  /// The trainer's command line (without `--spec`).
  public static func argv(
    environment: [String: String], home: VlatuneHome, kind: BaseModelKind = .builtin
  ) throws -> [String] {
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
      command = [python(environment: environment, home: home, kind: kind), "-m", "vlatune_trainer"]
    }
    command[0] = resolveExecutable(command[0], path: environment["PATH"])
    return command
  }

  package static func python(environment: [String: String], home: VlatuneHome, kind: BaseModelKind = .builtin) -> String
  {
    if let explicit = environment["VLATUNE_PYTHON"], !explicit.isEmpty { return explicit }
    // Paths are joined as text: resolving the venv's python symlink would lose the venv.
    var binary = ProcessSpawner.currentExecutable
    binary = String(binary[..<(binary.lastIndex(of: "/") ?? binary.endIndex)])
    func up(_ levels: Int) -> String {
      var path = binary
      for _ in 0..<levels { path = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) }
      return path
    }
    let venv = kind.virtualEnvironment
    let installed = venv == ".venv" ? "venv" : "venv-lerobot"
    let candidates = [
      up(2) + "/\(venv)/bin/python",
      up(3) + "/\(venv)/bin/python",
      up(1) + "/share/vlatune/\(installed)/bin/python",
      home.root.path + "/\(installed)/bin/python",
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

  /// The trainer's fixed environment: the ``passedVariables`` and `PYTHONUNBUFFERED`.
  public static func environment(from environment: [String: String]) -> [String: String] {
    var result: [String: String] = ["PYTHONUNBUFFERED": "1"]
    for name in passedVariables { if let value = environment[name] { result[name] = value } }
    if result["PATH"] == nil { result["PATH"] = "/usr/local/bin:/usr/bin:/bin" }
    return result
  }

  /// The variables a tracker reads, passed on to the trainer (names only in the spec) when set.
  static let trackerVariables = [
    "mlflow": [
      "MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD",
      "MLFLOW_EXPERIMENT_NAME", "MLFLOW_TRACKING_INSECURE_TLS",
    ],
    "wandb": ["WANDB_PROJECT", "WANDB_ENTITY"],
  ]

  /// The names `VLATUNE_TRAINER_ENV` lists, checked.
  ///
  /// - Throws: ``VlatuneError/invalidArgument(param:message:)`` for a name that is not an
  ///   environment variable name.
  public static func passedNames(from environment: [String: String]) throws -> [String] {
    let names = (environment["VLATUNE_TRAINER_ENV"] ?? "").split(separator: ",")
      .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    for name in names {
      let valid =
        name.first.map { $0 == "_" || ($0.isASCII && $0.isLetter) } == true
        && name.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
      guard valid else {
        throw VlatuneError.invalidArgument(
          param: "VLATUNE_TRAINER_ENV",
          message: "'\(name)' is not an environment variable name; list names separated by commas "
            + "(HF_TOKEN,WANDB_API_KEY)")
      }
    }
    return names
  }

  /// The watcher's environment: what it needs itself (the ``passedVariables``, the `VLATUNE_*`
  /// settings, `XDG_DATA_HOME`, `LD_LIBRARY_PATH`, `CUDA_VISIBLE_DEVICES`, Slurm's `SLURM_CONF`)
  /// and the names `VLATUNE_TRAINER_ENV` lists or the job passes on (`extra`: its tracker's
  /// variables), for the trainer; nothing else of the caller's.
  public static func watcherEnvironment(from environment: [String: String], extra: [String] = []) -> [String: String] {
    let own = passedVariables + ["XDG_DATA_HOME", "LD_LIBRARY_PATH", "CUDA_VISIBLE_DEVICES", "SLURM_CONF"]
    let listed = ((try? passedNames(from: environment)) ?? []) + extra
    return environment.filter { name, _ in
      name.hasPrefix("VLATUNE_") || own.contains(name) || listed.contains(name)
    }
  }
}
