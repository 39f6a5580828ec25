import Foundation
import VlatuneSupport

/// What `job start` reads from a LeRobot policy checkpoint (`config.json` and the
/// `*.safetensors` headers) to refuse with 64, before anything starts, a job its trainer could
/// not run: an image slot with no camera, a state or action size the policy cannot take, a LoRA
/// target that names no module (docs/trainer.md, "LeRobot policies").
public struct LeRobotCheckpoint: Sendable, Equatable {
  /// The policy type (`act`, `smolvla`, …).
  public var type: String
  /// The policy's image features without the `observation.images.` prefix, sorted.
  public var imageSlots: [String]
  /// The size of `observation.state` the checkpoint was made with (`nil`: no state input).
  public var stateDim: Int?
  /// The size of `action`.
  public var actionDim: Int?
  /// `max_state_dim` / `max_action_dim` of families that pad (SmolVLA, pi0, pi0.5).
  public var maxStateDim: Int?
  /// See `maxStateDim`.
  public var maxActionDim: Int?
  /// What the policy loads from outside the checkpoint: the backbone SmolVLA builds its VLM and
  /// tokenizer from (`vlm_model_name`: a hub id or a directory), the PaliGemma tokenizer pi0's
  /// and pi0.5's processors name (`piTokenizer`), the Qwen3-VL processor GR00T N1.7's names
  /// (its base's `model_name` when that is a directory, else `grootProcessor`).
  public var backbone: String?
  /// GR00T N1.7: the raw GR00T checkpoint the policy is built from (`base_model_path`: a
  /// directory or a hub id), and whether it was found (a directory or a Hugging Face cache
  /// snapshot with `config.json`).
  public var grootBase: String?
  /// See `grootBase`: the directory it resolved to.
  public var grootBaseDirectory: String?
  /// Whether the policy has LeRobot's own gradient checkpointing (its `config.json` has a
  /// `gradient_checkpointing` field: pi0, pi0.5, diffusion in LeRobot 0.6.1).
  public var checkpointsGradients: Bool
  /// Every tensor's name and shape, from the weight files' headers (a config-only groot
  /// checkpoint: its base's, under the policy's `_groot_model.` prefix).
  public var tensors: [String: [Int]]
  /// What a training sample keeps for backward (`nil` for GR00T).
  public var activations: LeRobotActivations?
  /// pi0 / pi0.5 with `dtype: bfloat16`: LeRobot holds the weights in bf16 (the vision path and
  /// the norms in fp32).
  public var bf16Weights: Bool = false
  /// Module paths holding tensors (`model.encoder.layers.0.linear1`), from `tensors`.
  public var modules: Set<String> {
    Set(tensors.keys.compactMap { name in name.lastIndex(of: ".").map { String(name[..<$0]) } })
  }

  /// The families whose state and action are padded to `max_*_dim`; the others need sizes equal
  /// to the checkpoint's.
  static let padding: Set<String> = ["smolvla", "pi0", "pi05", "groot"]
  static let imagePrefix = "observation.images."
  /// The tokenizer LeRobot 0.6.1's pi0 and pi0.5 processors load (their weights are all in the
  /// checkpoint).
  public static let piTokenizer = "google/paligemma-3b-pt-224"
  /// The families whose tokenizer is PaliGemma's.
  static let paliGemma: Set<String> = ["pi0", "pi05"]
  /// The Qwen3-VL processor (tokenizer, image and video processors) LeRobot 0.6.1's GR00T N1.7
  /// processor names when the base's backbone is not a local directory.
  public static let grootProcessor = "nvidia/Cosmos-Reason2-2B"
  /// Families that cannot train without a state, and why.
  static let needsState = [
    "pi05": "writes the discretized state into its prompt",
    "groot": "encodes the state in its action head",
  ]

  /// Reads `directory`, or `nil` when its `config.json` is not a LeRobot policy's.
  /// `environment` locates the Hugging Face cache a groot checkpoint's base may be in.
  public static func read(
    _ directory: String, environment: [String: String] = ProcessInfo.processInfo.environment
  ) -> LeRobotCheckpoint? {
    let path = (directory as NSString).expandingTildeInPath
    guard let config = jsonObject(path + "/config.json"),
      let type = config["type"]?.stringValue, BaseModelKind.lerobotTypes.contains(type)
    else { return nil }
    let inputs = config["input_features"]?.objectValue ?? [:]
    func size(_ feature: JSONValue?) -> Int? {
      feature?.objectValue?["shape"]?.arrayValue?.first?.countValue
    }
    var tensors = MemoryEstimate.safetensorsTensors(in: URL(fileURLWithPath: path))
    var backbone = paliGemma.contains(type) ? piTokenizer : config["vlm_model_name"]?.stringValue
    var grootBase: String?
    var grootBaseDirectory: String?
    if type == "groot" {
      // LeRobot's GrootConfig default when base_model_path is unset.
      let base = config["base_model_path"]?.stringValue ?? "nvidia/GR00T-N1.7-3B"
      grootBase = base
      // A relative path is read from the checkpoint's own directory, as the trainer reads it.
      let expanded = (base as NSString).expandingTildeInPath
      let local = expanded.hasPrefix("/") ? expanded : path + "/" + expanded
      grootBaseDirectory =
        FileIO.kind(local + "/config.json") == .regular
        ? local : HuggingFaceCache(environment: environment).snapshot(of: base, with: ["config.json"])
      let modelName = grootBaseDirectory.flatMap { jsonObject($0 + "/config.json")?["model_name"]?.stringValue }
      backbone =
        modelName.map { FileIO.kind(($0 as NSString).expandingTildeInPath + "/tokenizer_config.json") == .regular }
          == true ? modelName : grootProcessor
      if tensors.isEmpty, let grootBaseDirectory {
        for (name, shape) in MemoryEstimate.safetensorsTensors(in: URL(fileURLWithPath: grootBaseDirectory)) {
          tensors["_groot_model." + name] = shape
        }
      }
    }
    let imageSlots = inputs.keys.filter { $0.hasPrefix(imagePrefix) }
      .map { String($0.dropFirst(imagePrefix.count)) }.sorted()
    // SmolVLA's backbone config (heads, pixel shuffle) from its directory or the cache.
    let backboneConfig = (type == "smolvla" ? backbone : nil).flatMap { name in
      let local = (name as NSString).expandingTildeInPath
      let directory =
        FileIO.kind(local + "/config.json") == .regular
        ? local : HuggingFaceCache(environment: environment).snapshot(of: name, with: ["config.json"])
      return directory.flatMap { jsonObject($0 + "/config.json") }
    }
    return LeRobotCheckpoint(
      type: type,
      imageSlots: imageSlots,
      stateDim: size(inputs["observation.state"]),
      actionDim: size(config["output_features"]?.objectValue?["action"]),
      maxStateDim: config["max_state_dim"]?.countValue,
      maxActionDim: config["max_action_dim"]?.countValue,
      backbone: backbone, grootBase: grootBase, grootBaseDirectory: grootBaseDirectory,
      checkpointsGradients: config["gradient_checkpointing"] != nil, tensors: tensors,
      activations: LeRobotActivations.read(
        type: type, config: config, tensors: tensors, imageSlots: imageSlots, backboneConfig: backboneConfig),
      bf16Weights: paliGemma.contains(type) && config["dtype"]?.stringValue == "bfloat16")
  }

  /// A JSON object file under 1 MiB, or `nil`.
  static func jsonObject(_ path: String) -> [String: JSONValue]? {
    guard FileIO.kind(path) == .regular, FileIO.size(path) < 1 << 20,
      let data = FileManager.default.contents(atPath: path)
    else { return nil }
    return (try? JSONParser.parse(Array(data)))?.objectValue
  }

  /// A problem when a groot checkpoint's base (`base_model_path`) is neither a directory nor
  /// in the Hugging Face cache: LeRobot builds GR00T N1.7 from it, offline.
  public func grootBaseProblem(environment: [String: String]) -> ParameterProblem? {
    guard type == "groot", let grootBase, grootBaseDirectory == nil else { return nil }
    let cache = HuggingFaceCache(environment: environment).root
    return ParameterProblem(
      param: "base_model",
      message:
        "base_model (--base-model): the groot checkpoint's base_model_path '\(grootBase)' (the raw GR00T N1.7 checkpoint LeRobot builds the policy from) is neither a directory with config.json (a relative path is read from the checkpoint's directory) nor in the Hugging Face cache (\(cache)), and training runs offline; download it where there is network (huggingface-cli download \(grootBase) --local-dir DIR) and set base_model_path in config.json to DIR"
    )
  }

  /// A problem naming both sides when a policy slot has no camera (`imageMap[slot]`, else the
  /// camera of the slot's own name) or an `imageMap` entry names a slot or camera that is not
  /// there; `nil` when every slot is fed.
  public func cameraProblem(available: [String], imageMap: [String: String]) -> ParameterProblem? {
    let slotsText = imageSlots.joined(separator: ", ")
    let camerasText = available.isEmpty ? "none" : available.joined(separator: ", ")
    for (slot, camera) in imageMap.sorted(by: { $0.key < $1.key }) {
      let name = slot.hasPrefix(Self.imagePrefix) ? String(slot.dropFirst(Self.imagePrefix.count)) : slot
      if !imageSlots.contains(name) {
        return problem(
          "image_map (--image-map) names slot '\(slot)', which the \(type) policy does not have (slots: \(slotsText)); map each slot to a camera of the dataset (cameras: \(camerasText))"
        )
      }
      if !available.contains(camera) {
        return problem(
          "image_map (--image-map) maps slot '\(name)' to camera '\(camera)', which the dataset does not have (cameras: \(camerasText))"
        )
      }
    }
    let normalized = Dictionary(
      imageMap.map { (key, value) in
        (key.hasPrefix(Self.imagePrefix) ? String(key.dropFirst(Self.imagePrefix.count)) : key, value)
      }, uniquingKeysWith: { first, _ in first })
    for slot in imageSlots {
      guard available.contains(normalized[slot] ?? slot) else {
        return problem(
          "image_map (--image-map): the \(type) policy's image slot '\(slot)' has no camera of that name in the dataset (slots: \(slotsText); cameras: \(camerasText)); map each slot with --image-map \(slot)=CAMERA,…"
        )
      }
    }
    return nil
  }

  /// A problem when the backbone's files cannot be found offline: `tokenizer` (a directory with
  /// the backbone's `config.json` for SmolVLA, a tokenizer's `tokenizer_config.json` for pi0 /
  /// pi0.5, a Qwen3-VL processor's `tokenizer_config.json` and `preprocessor_config.json` for
  /// GR00T), else `backbone` as a directory or in the Hugging Face cache (`HF_HUB_CACHE`,
  /// `HF_HOME/hub`, `~/.cache/huggingface/hub`; a snapshot with those files and `config.json`);
  /// it names the id and the fix.
  public func backboneProblem(tokenizer: String?, environment: [String: String]) -> ParameterProblem? {
    let pi = Self.paliGemma.contains(type)
    let markers =
      switch type {
      case "groot": ["tokenizer_config.json", "preprocessor_config.json"]
      case _ where pi: ["tokenizer_config.json"]
      default: ["config.json"]
      }
    let what =
      switch type {
      case "groot": "Qwen3-VL processor's files"
      case _ where pi: "PaliGemma tokenizer's files"
      default: "backbone's config.json and tokenizer files"
      }
    if let tokenizer {
      let path = (tokenizer as NSString).expandingTildeInPath
      guard markers.allSatisfy({ FileIO.kind(path + "/" + $0) == .regular }) else {
        return ParameterProblem(
          param: "tokenizer",
          message:
            "tokenizer (--tokenizer) must be a directory with the \(what) (\(markers.joined(separator: ", "))), got '\(tokenizer)'"
        )
      }
      return nil
    }
    guard let backbone, type == "smolvla" || type == "groot" || pi else { return nil }
    let local = (backbone as NSString).expandingTildeInPath
    if markers.allSatisfy({ FileIO.kind(local + "/" + $0) == .regular }) { return nil }
    let hub = HuggingFaceCache(environment: environment)
    // From the hub's cache, transformers' AutoTokenizer reads the model's config.json too.
    if hub.snapshot(of: backbone, with: markers + ["config.json"]) != nil { return nil }
    let cache = hub.root
    let source =
      switch type {
      case "groot": "the groot policy's Qwen3-VL processor '\(backbone)' (LeRobot's GR00T N1.7 processor names it)"
      case _ where pi: "the \(type) checkpoint's tokenizer '\(backbone)' (LeRobot's \(type) processor names it)"
      default: "the \(type) checkpoint's backbone '\(backbone)' (config.json vlm_model_name)"
      }
    return ParameterProblem(
      param: "tokenizer",
      message:
        "tokenizer (--tokenizer): \(source) is neither a local directory nor in the Hugging Face cache (\(cache)), and training runs offline; download it where there is network (huggingface-cli download \(backbone) --local-dir DIR) and pass --tokenizer DIR"
    )
  }

  /// A problem when gradient checkpointing is asked of a policy that has none.
  public func gradientCheckpointingProblem(requested: Bool) -> ParameterProblem? {
    guard requested, !checkpointsGradients else { return nil }
    return ParameterProblem(
      param: "gradient_checkpointing",
      message:
        "gradient_checkpointing (--gradient-checkpointing): LeRobot 0.6.1's \(type) policy has no gradient checkpointing (its config.json has no gradient_checkpointing field; pi0, pi05 and diffusion have one); train without it"
    )
  }

  /// Problems with the state and action sizes the job would train with.
  public func dimensionProblems(stateDim: Int, actionDim: Int) -> [ParameterProblem] {
    var problems: [ParameterProblem] = []
    if let reason = Self.needsState[type], stateDim == 0 {
      problems.append(
        ParameterProblem(
          param: "proprio",
          message:
            "proprio (--proprio): the \(type) policy \(reason) and needs a state; the job would feed none; train with --proprio all or i,j,…"
        ))
    }
    if Self.padding.contains(type) {
      if let maximum = maxStateDim, stateDim > maximum {
        problems.append(
          ParameterProblem(
            param: "proprio",
            message:
              "proprio (--proprio): the \(type) policy takes a state of at most \(maximum) dimensions (config.json max_state_dim); the job would feed \(stateDim); choose at most \(maximum) with --proprio i,j,… or raise max_state_dim in the base checkpoint"
          ))
      }
      if let maximum = maxActionDim, actionDim > maximum {
        problems.append(
          ParameterProblem(
            param: "dataset",
            message:
              "dataset (--dataset): the \(type) policy predicts at most \(maximum) action dimensions (config.json max_action_dim); the dataset has \(actionDim); use a base checkpoint with max_action_dim ≥ \(actionDim)"
          ))
      }
      return problems
    }
    let taken = self.stateDim ?? 0
    if taken != stateDim {
      problems.append(
        ParameterProblem(
          param: "proprio",
          message:
            "proprio (--proprio): the \(type) policy was made for a state of \(taken) dimensions (config.json input_features observation.state); the job would feed \(stateDim); select \(taken) with --proprio (none for 0) or fine-tune a base made for this dataset"
        ))
    }
    if let expected = self.actionDim, expected != actionDim {
      problems.append(
        ParameterProblem(
          param: "dataset",
          message:
            "dataset (--dataset): the \(type) policy predicts \(expected) action dimensions (config.json output_features action); the dataset has \(actionDim); fine-tune a base made for this robot's actions"
        ))
    }
    return problems
  }

  /// Targets (PEFT's list rule: a module whose path is the name or ends with `.name`) that
  /// match no module of the checkpoint. `all-linear` means the family's default targets.
  public func unmatchedTargets(_ targets: [String]) -> [String] {
    guard !modules.isEmpty, targets != ["all-linear"] else { return [] }
    return targets.filter { target in
      !modules.contains { $0 == target || $0.hasSuffix("." + target) }
    }
  }

  /// The modules LoRA wraps by default, as the trainer applies them (a regular expression over
  /// module paths, PEFT's full-match rule): LeRobot's own for SmolVLA, pi0 and pi0.5, vlatune's
  /// for GR00T, ACT and diffusion (trainer/vlatune_trainer/models/lerobot_policy.py; a test compares the count).
  public static let defaultTargets: [String: String] = [
    "smolvla":
      #"(model\.vlm_with_expert\.lm_expert\..*\.(q|v)_proj|model\.(state_proj|action_in_proj|action_out_proj|action_time_mlp_in|action_time_mlp_out))"#,
    "pi0": piTargets,
    "pi05": piTargets,
    "act": #"model\.(vae_encoder|encoder|decoder)\.layers\.\d+\.(linear1|linear2)|model\.action_head"#,
    "diffusion": #"diffusion\.unet\..*\.((conv1|conv2)\.block\.0|cond_encoder\.1)|diffusion\.unet\.final_conv\.1"#,
    "groot": #"_groot_model\.action_head\.model\.transformer_blocks\.\d+\.attn1\.(to_q|to_k|to_v|to_out\.0)"#,
  ]

  /// LeRobot's pi0 / pi0.5 default: the action expert's `q_proj`/`v_proj` and the projections.
  static let piTargets =
    #"(.*\.gemma_expert\..*\.self_attn\.(q|v)_proj|model\.(state_proj|action_in_proj|action_out_proj|action_time_mlp_in|action_time_mlp_out))"#

  /// Whether LoRA would wrap the module at `path` for `targets` (`all-linear`: the defaults).
  func targeted(_ path: String, targets: [String]) -> Bool {
    if targets == ["all-linear"] {
      guard let pattern = Self.defaultTargets[type], let regex = try? Regex(pattern) else { return false }
      return (try? regex.wholeMatch(in: path)) != nil
    }
    return targets.contains { path == $0 || path.hasSuffix("." + $0) }
  }

  /// LoRA parameters for rank `rank`: `r × (in + out)` for each wrapped linear weight
  /// `[out, in]`, `r × (in × k + out)` for a convolution `[out, in, k]`.
  public func loraParameters(tensors: [String: [Int]], rank: Int, targets: [String]) -> Int {
    var total = 0
    for (name, shape) in tensors where name.hasSuffix(".weight") && shape.count >= 2 {
      guard targeted(String(name.dropLast(".weight".count)), targets: targets) else { continue }
      total += rank * (shape[1] * shape.dropFirst(2).reduce(1, *) + shape[0])
    }
    return total
  }

  private func problem(_ message: String) -> ParameterProblem {
    ParameterProblem(param: "image_map", message: message)
  }
}
