import Foundation
import VlatuneStore
import VlatuneSupport
import Yams

/// How a job is submitted to Slurm: the spec's `slurm` section, from the job's parameters over
/// the defaults in `$VLATUNE_HOME/slurm.yaml` (or `$VLATUNE_SLURM_CONFIG`).
///
/// ```yaml
/// partition: gpu
/// account: robotics
/// qos: normal
/// time_limit: 240          # minutes
/// memory: 64G              # --mem per node
/// signal_seconds: 120      # SIGTERM this long before the time limit, so the trainer checkpoints
/// extra_sbatch: ["--exclude=node07", "--constraint=a100"]
/// ```
public struct SlurmSettings: Codable, Sendable, Equatable {
  /// `--partition`.
  public var partition: String?
  /// `--account`.
  public var account: String?
  /// `--qos`.
  public var qos: String?
  /// `--time` in minutes.
  public var timeLimitMinutes: Int?
  /// `--mem` per node (`64G`, `500M`).
  public var memory: String?
  /// `--signal=B:TERM@seconds`: the warning before the time limit.
  public var signalSeconds: Int
  /// Extra `#SBATCH` options, verbatim.
  public var extraSbatch: [String]

  enum CodingKeys: String, CodingKey {
    case partition, account, qos, memory
    case timeLimitMinutes = "time_limit"
    case signalSeconds = "signal_seconds"
    case extraSbatch = "extra_sbatch"
  }

  /// Settings with nothing chosen.
  public init(
    partition: String? = nil, account: String? = nil, qos: String? = nil, timeLimitMinutes: Int? = nil,
    memory: String? = nil, signalSeconds: Int = 120, extraSbatch: [String] = []
  ) {
    self.memory = memory
    self.partition = partition
    self.account = account
    self.qos = qos
    self.timeLimitMinutes = timeLimitMinutes
    self.signalSeconds = signalSeconds
    self.extraSbatch = extraSbatch
  }

  /// Decodes with every key optional.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    partition = try container.decodeIfPresent(String.self, forKey: .partition)
    account = try container.decodeIfPresent(String.self, forKey: .account)
    qos = try container.decodeIfPresent(String.self, forKey: .qos)
    timeLimitMinutes = try container.decodeIfPresent(Int.self, forKey: .timeLimitMinutes)
    memory = try container.decodeIfPresent(String.self, forKey: .memory)
    signalSeconds = try container.decodeIfPresent(Int.self, forKey: .signalSeconds) ?? 120
    extraSbatch = try container.decodeIfPresent([String].self, forKey: .extraSbatch) ?? []
  }

  /// The configured defaults (empty when there is no file).
  ///
  /// - Throws: ``VlatuneError/invalidPolicy(_:)``-style 64 errors naming the file for bad YAML.
  public static func defaults(environment: [String: String], home: VlatuneHome) throws -> SlurmSettings {
    let path = environment["VLATUNE_SLURM_CONFIG"] ?? home.root.appendingPathComponent("slurm.yaml").path
    guard FileIO.kind(path) == .regular else { return SlurmSettings() }
    let text = String(decoding: try FileIO.read(path), as: UTF8.self)
    do {
      return try YAMLDecoder().decode(SlurmSettings.self, from: text)
    } catch {
      throw VlatuneError.invalidArgument(
        param: "slurm config",
        message: "\(path) is not valid: \(error); keys: partition, account, "
          + "qos, time_limit (minutes), memory, signal_seconds, extra_sbatch (list of sbatch options)")
    }
  }
}
