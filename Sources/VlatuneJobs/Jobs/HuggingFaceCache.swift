import Foundation
import VlatuneSupport

/// The Hugging Face hub cache as transformers and LeRobot read it offline: `HF_HUB_CACHE`, else
/// `HF_HOME/hub`, else `~/.cache/huggingface/hub`; a model `org/name` lives in
/// `models--org--name/snapshots/<revision>/`.
struct HuggingFaceCache {
  /// The cache directory.
  let root: String

  init(environment: [String: String]) {
    root =
      environment["HF_HUB_CACHE"]
      ?? environment["HF_HOME"].map { $0 + "/hub" }
      ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.cache/huggingface/hub"
  }

  /// The snapshot of hub id `id` that an offline load of its default revision reads (the one
  /// `refs/main` names) when it holds every one of `files`, or `nil`.
  func snapshot(of id: String, with files: [String]) -> String? {
    let repository = root + "/models--" + id.replacingOccurrences(of: "/", with: "--")
    guard let data = FileManager.default.contents(atPath: repository + "/refs/main"),
      let revision = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
      !revision.isEmpty, !revision.contains("/")
    else { return nil }
    let snapshot = repository + "/snapshots/" + revision
    return files.allSatisfy { FileIO.kind(snapshot + "/" + $0) == .regular } ? snapshot : nil
  }
}
