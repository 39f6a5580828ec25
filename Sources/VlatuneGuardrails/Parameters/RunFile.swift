import Foundation
import VlatuneSupport
import Yams

/// A run file (`job start --config run.yaml`): a YAML mapping of `job start` parameters, by
/// their table names, that `job show-config` writes and `job start --config` reads back. A
/// scalar is read as the parameter's type would read it from the command line (`max_steps:
/// 400`, `gradient_checkpointing: true`), a list as `target_modules`, a mapping as `metadata`
/// or `image_map`; `null` or `~` leaves a parameter at its default.
public enum RunFile {
  /// Reads a run file.
  ///
  /// - Throws: ``VlatuneError/invalidParameters(_:)`` naming the line of every unknown key or
  ///   value of the wrong shape; `not_found` (66) when the file is missing.
  public static func read(path: String) throws -> [String: JSONValue] {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw VlatuneError.notFound(kind: "run file", reference: path, hint: "check the --config path")
    }
    return try parse(String(decoding: data, as: UTF8.self), source: path)
  }

  /// Parses run-file text (`source` names it in messages).
  public static func parse(_ text: String, source: String) throws -> [String: JSONValue] {
    let table = JobParameters.table
    func problem(_ param: String, _ line: Int, _ message: String) -> ParameterProblem {
      ParameterProblem(param: param, message: "\(source) line \(line): \(message)")
    }
    let root: Node?
    do {
      root = try Yams.compose(yaml: text, Resolver.basic)
    } catch {
      throw VlatuneError.invalidParameters([problem("config", 0, "not valid YAML: \(error)")])
    }
    guard let root else { return [:] }
    guard case .mapping(let mapping) = root else {
      throw VlatuneError.invalidParameters([
        problem("config", root.mark?.line ?? 1, "a run file is a mapping of job start parameters (name: value)")
      ])
    }
    var problems: [ParameterProblem] = []
    var scalars: [String: String] = [:]
    var values: [String: JSONValue] = [:]
    for (keyNode, valueNode) in mapping {
      let key = keyNode.string ?? ""
      let line = keyNode.mark?.line ?? 0
      guard let definition = table[key] else {
        problems.append(
          problem(
            key, line,
            "unknown parameter '\(key)'; known: \(table.definitions.map(\.name).joined(separator: ", "))"))
        continue
      }
      switch valueNode {
      case .scalar(let scalar):
        if scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string) {
          values[key] = .null
        } else {
          scalars[key] = scalar.string
        }
      case .sequence(let sequence):
        guard case .stringList = definition.kind else {
          problems.append(problem(key, line, "\(definition.label) takes \(definition.allowed), not a list"))
          continue
        }
        values[key] = .array(sequence.map { .string($0.string ?? "") })
      case .mapping(let members):
        guard case .keyValues = definition.kind else {
          problems.append(problem(key, line, "\(definition.label) takes \(definition.allowed), not a mapping"))
          continue
        }
        var object: [String: JSONValue] = [:]
        for (member, value) in members { object[member.string ?? ""] = .string(value.string ?? "") }
        values[key] = .object(object)
      case .alias:
        problems.append(problem(key, line, "aliases are not supported in run files"))
      }
    }
    if !problems.isEmpty { throw VlatuneError.invalidParameters(problems) }
    for (key, value) in table.fromCommandLine(scalars) { values[key] = value }
    return values
  }

  /// A job's stored parameters as a run file: table order, each value as JSON (which YAML
  /// reads back as the same value), the name as a comment.
  public static func render(_ parameters: [String: JSONValue], header: String) -> String {
    var lines = header.split(separator: "\n", omittingEmptySubsequences: false).map { "# " + $0 }
    for definition in JobParameters.table.definitions {
      guard let value = parameters[definition.name], value != .null else { continue }
      let text = (try? JSONOutput.string(AnyJSON(value), pretty: false)) ?? "null"
      lines.append((definition.name == "name" ? "# " : "") + "\(definition.name): \(text)")
    }
    return lines.joined(separator: "\n") + "\n"
  }
}
