import Foundation
import VlatuneStore
import VlatuneSupport

/// What `job eval` evaluates: the trained job's spec (as its `train_config.json` or database row
/// records it), the adapter directory, which weights, and the cameras, state and action sizes
/// the adapter was trained with.
struct EvalTarget {
  /// The trained job's spec.
  var spec: JobSpec
  /// The trained job, when it is one of this home's.
  var sourceJob: String?
  /// The adapter directory (its `model_config.json`, `dataset_statistics.json`, and
  /// `train_config.json` beside it).
  var adapter: String
  /// `final`, `best`, `step-N`, `base` or `path`.
  var checkpoint: String
  /// A checkpoint's directory whose weights replace the adapter's (`step-N`).
  var weights: String?
  /// The cameras the policy reads.
  var cameras: [String]
  /// The action's length.
  var actionDim: Int

  /// Resolves `job` (a job reference or an adapter directory) and `adapter` (final, best, a
  /// step or base).
  ///
  /// - Throws: ``VlatuneError``: 66 no such job or directory; 64 an evaluation job, weights
  ///   that do not exist (yet), `base` or a step of a model other than tiny-vla.
  static func resolve(_ reference: String, adapter choice: String, jobs: JobStore, home: VlatuneHome) throws
    -> EvalTarget
  {
    func problem(_ param: String, _ message: String) -> VlatuneError {
      .invalidParameters([ParameterProblem(param: param, message: message)])
    }
    if reference.contains("/") {
      let path = (reference as NSString).expandingTildeInPath
      guard FileIO.kind(path) == .directory else {
        throw VlatuneError.notFound(
          kind: "adapter directory", reference: reference,
          hint: "pass a job (id, prefix or name) or a job's output/adapter directory")
      }
      if choice != "final" {
        throw problem(
          "adapter", "adapter (--adapter) \(choice) applies to a job; an adapter directory is evaluated as it is")
      }
      let spec = try trainConfig(URL(fileURLWithPath: path).deletingLastPathComponent().path + "/train_config.json")
      let owner = try jobs.record(spec.jobId).flatMap { $0.jobDir == spec.jobDir ? $0.id : nil }
      return try described(spec: spec, source: owner, adapter: path, checkpoint: "path", weights: nil)
    }
    let record: JobRecord
    do {
      record = try jobs.resolve(reference)
    } catch VlatuneError.notFound {
      throw VlatuneError.notFound(
        kind: "job", reference: reference,
        hint: "job (--job) names the trained job or its adapter directory; run 'vlatune job list' to see the jobs")
    }
    guard record.kind == "train" else {
      throw problem("job", "job (--job) \(record.id) is an evaluation job; evaluate the job it trained")
    }
    let spec = try JSONOutput.decode(JobSpec.self, from: Data(record.spec.utf8))
    let final = spec.outputDir + "/adapter"
    let tinyOnly = spec.baseModel != "tiny-vla"
    switch choice {
    case "final", "base":
      if choice == "base" && tinyOnly {
        throw problem(
          "adapter",
          "adapter (--adapter) base (the untrained start) is available for tiny-vla jobs; \(record.id) fine-tunes "
            + "\(spec.baseModel)")
      }
      return try described(
        spec: spec, source: record.id, adapter: try existing(final, record), checkpoint: choice, weights: nil)
    case "best":
      return try described(
        spec: spec, source: record.id, adapter: try existing(spec.outputDir + "/best", record), checkpoint: "best",
        weights: nil)
    default:
      guard let step = Int(choice), step >= 0 else {
        throw problem("adapter", "adapter (--adapter) must be final, best, base or a checkpoint step, got '\(choice)'")
      }
      if tinyOnly {
        throw problem(
          "adapter", "adapter (--adapter) \(step): a checkpoint step is evaluated for tiny-vla jobs; use final or best")
      }
      let checkpoints = try jobs.checkpoints(record.id)
      guard let match = checkpoints.first(where: { $0.step == step }),
        FileIO.kind(match.path + "/adapter.safetensors") == .regular
      else {
        throw problem(
          "adapter",
          "adapter (--adapter) \(step): \(record.id) has no checkpoint at step \(step)"
            + (checkpoints.isEmpty ? "" : "; it has steps \(checkpoints.map { "\($0.step)" }.joined(separator: ", "))"))
      }
      return try described(
        spec: spec, source: record.id, adapter: try existing(final, record),
        checkpoint: "step-\(step)", weights: match.path)
    }
  }

  private static func existing(_ adapter: String, _ record: JobRecord) throws -> String {
    guard FileIO.kind(adapter + "/model_config.json") == .regular else {
      throw VlatuneError.invalidParameters([
        ParameterProblem(
          param: "adapter",
          message: "job \(record.id) has no \((adapter as NSString).lastPathComponent) adapter yet (it is "
            + "\(record.state.rawValue)); evaluate it once it has succeeded")
      ])
    }
    return adapter
  }

  private static func trainConfig(_ path: String) throws -> JobSpec {
    guard FileIO.kind(path) == .regular else {
      throw VlatuneError.notFound(
        kind: "adapter", reference: (path as NSString).deletingLastPathComponent,
        hint: "an adapter directory is a job's output/adapter (train_config.json beside it)")
    }
    do {
      return try JSONOutput.decode(JobSpec.self, from: Data(try FileIO.read(path)))
    } catch {
      throw VlatuneError.invalidDataset(
        message: "\(path) is not a vlatune training configuration: \(error)", findings: [])
    }
  }

  /// The cameras and action size from the adapter's files.
  private static func described(
    spec: JobSpec, source: String?, adapter: String, checkpoint: String, weights: String?
  ) throws -> EvalTarget {
    func object(_ path: String) -> [String: JSONValue] {
      ((try? FileIO.read(path)).flatMap { try? JSONParser.parse($0) })?.objectValue ?? [:]
    }
    let parent = (adapter as NSString).deletingLastPathComponent
    let model = object(adapter + "/model_config.json")
    let training = object(parent + "/train_config.json")
    var cameras = (training["cameras"]?.arrayValue ?? []).compactMap(\.stringValue)
    if model["model_type"]?.stringValue == "lerobot" {
      cameras = (model["image_map"]?.objectValue ?? [:]).values.compactMap(\.stringValue)
    }
    let statistics = object(adapter + "/dataset_statistics.json").values.first?.objectValue ?? [:]
    let actionDim = statistics["action"]?.objectValue?["mean"]?.arrayValue?.count ?? 0
    return EvalTarget(
      spec: spec, sourceJob: source, adapter: adapter, checkpoint: checkpoint, weights: weights,
      cameras: Array(NSOrderedSet(array: cameras).compactMap { $0 as? String }), actionDim: actionDim)
  }
}
