import Foundation
import VlatuneGuardrails
import VlatuneSupport

/// What a `base_model` is, which decides the trainer's environment and model code
/// (docs/trainer.md): the built-in tiny-vla, a LeRobot policy checkpoint (`config.json` whose
/// `type` is a LeRobot policy type), or a Hugging Face vision-language checkpoint.
public enum BaseModelKind: Equatable, Sendable {
  /// A built-in model (`tiny-vla`).
  case builtin
  /// A LeRobot policy checkpoint of this policy type (`act`, `diffusion`, `smolvla`, …).
  case lerobot(String)
  /// Any other local checkpoint directory (a Hugging Face model).
  case huggingFace

  /// LeRobot policy types the trainer recognises (docs/trainer.md lists which it trains).
  public static let lerobotTypes = ["smolvla", "act", "diffusion", "pi0", "pi05", "groot"]

  /// The kind of `baseModel`, read from its `config.json` when it is a directory.
  public static func of(_ baseModel: String) -> BaseModelKind {
    if JobParameters.builtinModels.contains(baseModel) { return .builtin }
    let path = (baseModel as NSString).expandingTildeInPath + "/config.json"
    guard FileIO.kind(path) == .regular, FileIO.size(path) < 1 << 20,
      let data = FileManager.default.contents(atPath: path),
      let type = (try? JSONParser.parse(Array(data)))?.objectValue?["type"]?.stringValue,
      lerobotTypes.contains(type)
    else { return .huggingFace }
    return .lerobot(type)
  }

  /// `tiny-vla`, `lerobot/<type>` or `huggingface`, as `--dry-run` and the spec say it.
  public var name: String {
    switch self {
    case .builtin: "tiny-vla"
    case .lerobot(let type): "lerobot/\(type)"
    case .huggingFace: "huggingface"
    }
  }

  /// The project virtual environment the trainer runs in: `.venv-lerobot` (Python 3.12 with
  /// LeRobot) for LeRobot checkpoints, else `.venv`.
  public var virtualEnvironment: String {
    if case .lerobot = self { return ".venv-lerobot" }
    return ".venv"
  }
}
