import Foundation
import GRDB
import VlatuneStore
import VlatuneSupport

extension JobLauncher {
  /// `from`: the source job's stored parameters with the given ones over them (an explicit
  /// `null` drops one, e.g. `seed: null` draws a new seed). The job's name and idempotency key
  /// are never taken. Policy conditions see the merged arguments: a fork cannot slip past a
  /// condition its source's parameters would fail.
  ///
  /// - Throws: 66 when the source job does not exist, 64 when the reference is ambiguous.
  func forked(_ arguments: [String: JSONValue]) throws -> [String: JSONValue] {
    guard let reference = arguments["from"]?.stringValue else { return arguments }
    let source = try Self.sourceJob(reference, parameter: "from", store: context.store)
    let spec = try JSONOutput.decode(JobSpec.self, from: Data(source.spec.utf8))
    var merged = spec.storedParameters
    for name in ["name", "idempotency_key", "from"] { merged[name] = nil }
    for (name, value) in arguments { merged[name] = value }
    return merged
  }

  /// The job `from` or `init_from` names; a reference that matches none is 66 naming the
  /// parameter.
  static func sourceJob(_ reference: String, parameter: String, store: Store) throws -> JobRecord {
    do {
      let record = try JobStore(store: store).resolve(reference)
      guard record.kind == "train" else {
        let flag = "--" + parameter.replacingOccurrences(of: "_", with: "-")
        throw VlatuneError.invalidParameters([
          ParameterProblem(
            param: parameter,
            message: "\(parameter) (\(flag)) \(record.id) is an evaluation job, which trains nothing; name the job "
              + "it evaluated\(record.sourceJob.map { " (\($0))" } ?? "")")
        ])
      }
      return record
    } catch VlatuneError.notFound {
      let flag = "--" + parameter.replacingOccurrences(of: "_", with: "-")
      throw VlatuneError.notFound(
        kind: "job", reference: reference,
        hint: "\(parameter) (\(flag)) names the job to start from; run 'vlatune job list' to see the jobs")
    }
  }
}
