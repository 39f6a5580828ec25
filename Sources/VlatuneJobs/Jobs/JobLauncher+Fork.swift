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

  /// `init_from` (`JOB` or `JOB:STEP`): the checkpoint whose adapter weights the new job starts
  /// from — that step's, else the job's newest — refused (64) when the base model, LoRA rank or
  /// target modules differ, or when the job has no such checkpoint.
  func initCheckpoint(_ reference: String, for spec: JobSpec) throws -> String {
    var jobReference = reference
    var step: Int?
    if let colon = reference.lastIndex(of: ":"), let number = Int(reference[reference.index(after: colon)...]) {
      jobReference = String(reference[..<colon])
      step = number
    }
    func problem(_ message: String) -> VlatuneError {
      .invalidParameters([ParameterProblem(param: "init_from", message: "init_from (--init-from) \(message)")])
    }
    let source = try Self.sourceJob(jobReference, parameter: "init_from", store: context.store)
    let sourceSpec = try JSONOutput.decode(JobSpec.self, from: Data(source.spec.utf8))
    var mismatches: [String] = []
    if sourceSpec.baseModel != spec.baseModel {
      mismatches.append("base_model '\(sourceSpec.baseModel)' (this job: '\(spec.baseModel)')")
    }
    if sourceSpec.hyperparameters.loraRank != spec.hyperparameters.loraRank {
      mismatches.append(
        "lora_rank \(sourceSpec.hyperparameters.loraRank) (this job: \(spec.hyperparameters.loraRank))")
    }
    if sourceSpec.hyperparameters.targetModules != spec.hyperparameters.targetModules {
      mismatches.append(
        "target_modules \(sourceSpec.hyperparameters.targetModules.joined(separator: ",")) (this job: "
          + "\(spec.hyperparameters.targetModules.joined(separator: ",")))")
    }
    if !mismatches.isEmpty {
      throw problem(
        "\(source.id)'s adapter does not fit this job: it has \(mismatches.joined(separator: ", ")); "
          + "start with the same values, or use --from \(source.id) to take all of them")
    }
    let checkpoints = try JobStore(store: context.store).checkpoints(source.id).filter {
      FileIO.kind($0.path + "/adapter.safetensors") == .regular
    }
    if let step {
      guard let match = checkpoints.first(where: { $0.step == step }) else {
        throw problem(
          "\(source.id) has no checkpoint at step \(step)"
            + (checkpoints.isEmpty ? "" : "; it has steps \(checkpoints.map { "\($0.step)" }.joined(separator: ", "))"))
      }
      return match.path
    }
    guard let last = checkpoints.last else {
      throw problem("\(source.id) has no checkpoint to start from (it is \(source.state.rawValue))")
    }
    return last.path
  }

  /// The job `from` or `init_from` names; a reference that matches none is 66 naming the
  /// parameter.
  static func sourceJob(_ reference: String, parameter: String, store: Store) throws -> JobRecord {
    do {
      return try JobStore(store: store).resolve(reference)
    } catch VlatuneError.notFound {
      let flag = "--" + parameter.replacingOccurrences(of: "_", with: "-")
      throw VlatuneError.notFound(
        kind: "job", reference: reference,
        hint: "\(parameter) (\(flag)) names the job to start from; run 'vlatune job list' to see the jobs")
    }
  }
}
