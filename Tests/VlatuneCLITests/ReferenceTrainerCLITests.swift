import Foundation
import Testing
import VlatuneTestSupport

/// Whether the project's Python has the reference trainer and the tiny-vla base exists.
enum ReferenceTrainer {
  static var base: URL {
    TestPaths.repository.appendingPathComponent("trainer/vlatune_trainer/assets/tiny-vla/model.safetensors")
  }

  static var available: Bool {
    guard let python = TestPaths.python, FileManager.default.fileExists(atPath: base.path) else {
      return false
    }
    let probe = try? ProcessRunner.run(python, ["-c", "import vlatune_trainer, torch, peft"], timeout: 120)
    return probe?.status == 0
  }
}

/// `vlatune job start` with the real reference trainer (PyTorch + PEFT) on the built-in tiny-vla.
@Suite(.enabled(if: ReferenceTrainer.available), .serialized)
struct ReferenceTrainerCLITests {

  @Test func tinyVLAFineTuneSucceedsAndWritesTheAdapter() throws {
    let bed = try JobTestbed(environment: ["VLATUNE_PYTHON": TestPaths.python!])
    var runner = bed.vlatune
    runner.environment["VLATUNE_TRAINER"] = nil
    let result = try runner.run(
      ["job", "start", "--base-model", "tiny-vla", "--dataset", "sample", "--max-steps", "6",
       "--batch-size", "8", "--lora-rank", "4", "--checkpoint-interval", "3", "--gpus", "0",
       "--wait", "--json"], timeout: 600)
    #expect(result.status == 0, "\(result.standardError)")
    let document = try result.json()
    #expect(document["state"] as? String == "succeeded", "\(document["error"] ?? "")")
    #expect((document["checkpoints"] as? [[String: Any]])?.compactMap { $0["step"] as? Int } == [3, 6])
    let output = try #require(document["output"] as? [String: Any])
    let adapter = try #require(output["adapter"] as? String)
    #expect(FileManager.default.fileExists(atPath: adapter + "/adapter_model.safetensors"))
    #expect(FileManager.default.fileExists(atPath: adapter + "/adapter_config.json"))
    #expect(FileManager.default.fileExists(atPath: output["dataset_statistics"] as! String))
    #expect((document["eval"] as? [String: Double])?["val_l1"] != nil)
  }
}
