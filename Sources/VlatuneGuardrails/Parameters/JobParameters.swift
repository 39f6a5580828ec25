import VlatuneFormats
import VlatuneSupport

/// The parameters of `job start` / `start_finetune_job`: the single source of truth for
/// validation, the MCP input schema, `--dry-run` and `docs/parameters.md`.
public enum JobParameters {
  /// Built-in base models.
  public static let builtinModels = ["tiny-vla"]

  /// The table.
  public static let table = ParameterTable([
    ParameterDefinition(
      name: "base_model", kind: .string(maxLength: 4096), required: true, requiredUnless: "from",
      help: "Built-in model (tiny-vla) or a local checkpoint directory containing config.json."),
    ParameterDefinition(
      name: "dataset", kind: .string(maxLength: 256), required: true, requiredUnless: "from",
      help: "Dataset id, unique id prefix, or name (from dataset prepare)."),
    ParameterDefinition(
      name: "lora_rank", kind: .integer, minimum: 1, maximum: 1024, defaultValue: .number(32),
      help: "LoRA rank r."),
    ParameterDefinition(
      name: "lora_alpha", kind: .number, minimum: 0, exclusiveMinimum: true, maximum: 100_000,
      defaultValue: .number(16), help: "LoRA alpha; updates are scaled by alpha / r."),
    ParameterDefinition(
      name: "lora_dropout", kind: .number, minimum: 0, maximum: 1, exclusiveMaximum: true,
      defaultValue: .number(0), help: "Dropout on the LoRA path."),
    ParameterDefinition(
      name: "target_modules", kind: .stringList(maxItems: 64), defaultValue: .array([.string("all-linear")]),
      help: "Module names LoRA wraps; all-linear wraps every linear layer of the backbone."),
    ParameterDefinition(
      name: "learning_rate", kind: .number, minimum: 0, exclusiveMinimum: true, maximum: 1,
      exclusiveMaximum: true, defaultValue: .number(5e-4), help: "Peak learning rate (AdamW)."),
    ParameterDefinition(
      name: "batch_size", kind: .integer, unit: "samples", minimum: 1, maximum: 4096,
      defaultValue: .number(8), help: "Samples per device per micro-batch."),
    ParameterDefinition(
      name: "grad_accum", kind: .integer, unit: "micro-batches", minimum: 1, maximum: 1024,
      defaultValue: .number(1), help: "Micro-batches accumulated per optimizer step."),
    ParameterDefinition(
      name: "max_steps", kind: .integer, unit: "steps", minimum: 1, maximum: 10_000_000,
      defaultValue: .number(1000), help: "Optimizer steps to train."),
    ParameterDefinition(
      name: "seed", kind: .integer, minimum: 0, maximum: 2_147_483_647,
      help: "Seed of everything random in training; drawn at random and recorded when absent."),
    ParameterDefinition(
      name: "gpus", kind: .integer, minimum: 0, maximum: 64,
      help: "GPUs to use; 0 trains on CPU. Default: 1 when the machine has a GPU, else 0."),
    ParameterDefinition(
      name: "action_chunk", kind: .integer, unit: "actions", minimum: 1, maximum: 256,
      defaultValue: .number(4), help: "Actions predicted per step (the next H of the episode)."),
    ParameterDefinition(
      name: "image_size", kind: .integer, unit: "pixels", minimum: 16, maximum: 2048,
      help: "Square size images are resized to; default: the model's native size (tiny-vla: 64; "
        + "a checkpoint: its image processor's crop or resize size, else 224)."),
    ParameterDefinition(
      name: "proprio", kind: .string(maxLength: 256), defaultValue: .string("all"),
      help: "State dimensions the model sees: all, none, or comma-separated indices (velocity-like "
        + "state can leak the previous action)."),
    ParameterDefinition(
      name: "precision", kind: .choice(["auto", "fp32", "bf16", "fp16"]), defaultValue: .string("auto"),
      help: "Compute precision; auto is bf16 autocast on CUDA and fp32 on CPU."),
    ParameterDefinition(
      name: "checkpoint_interval", kind: .integer, unit: "steps", minimum: 1, maximum: 10_000_000,
      defaultValue: .number(500), help: "Steps between resumable checkpoints."),
    ParameterDefinition(
      name: "lr_schedule", kind: .choice(["cosine", "constant"]), defaultValue: .string("cosine"),
      help: "Learning-rate schedule after a linear warmup over the first 5% of steps."),
    ParameterDefinition(
      name: "data_workers", kind: .integer, unit: "processes", minimum: 0, maximum: 64,
      defaultValue: .number(1),
      help: "Worker processes that decode and augment batches while the model trains (0: in the "
        + "training process)."),
    ParameterDefinition(
      name: "gradient_checkpointing", kind: .boolean, defaultValue: .bool(false),
      help: "Recompute activations in the backward pass: less GPU memory, about 30% more time "
        + "(LeRobot policies: those with LeRobot's own switch, pi0 / pi0.5 / diffusion; others "
        + "are refused, 64)."),
    ParameterDefinition(
      name: "trust_remote_code", kind: .boolean, defaultValue: .bool(false),
      help: "Allow a checkpoint directory's own Python code (OpenVLA needs it); it runs with your "
        + "rights."),
    ParameterDefinition(
      name: "image_map", kind: .keyValues(maxPairs: 16, maxKeyLength: 128, maxValueLength: 128),
      help: "LeRobot policies: the dataset camera feeding each image slot of the policy "
        + "(slot=camera,…); default: the camera of the slot's own name, else refused (64)."),
    ParameterDefinition(
      name: "tokenizer", kind: .string(maxLength: 4096),
      help: "LeRobot SmolVLA / pi0 / pi0.5 / GR00T: a local directory with the tokenizer files "
        + "(SmolVLA: the backbone's config too; GR00T: the Qwen3-VL processor's), used instead of "
        + "the hub id the policy names (SmolVLA: config.json vlm_model_name; pi: "
        + "google/paligemma-3b-pt-224; GR00T: its base's backbone, else nvidia/Cosmos-Reason2-2B), "
        + "since training is offline; default: that id when it is a local directory or in the "
        + "Hugging Face cache."),
    ParameterDefinition(
      name: "force", kind: .boolean, defaultValue: .bool(false),
      help: "Start even when the memory estimate exceeds the GPU's memory (otherwise refused, 69)."),
    ParameterDefinition(
      name: "name", kind: .string(maxLength: 64),
      help: "A name for the job (letters, digits, '.', '_', '-')."),
    ParameterDefinition(
      name: "metadata", kind: .keyValues(maxPairs: 16, maxKeyLength: 64, maxValueLength: 512),
      help: "Free-form key=value labels stored with the job."),
    ParameterDefinition(
      name: "idempotency_key", kind: .string(maxLength: 255),
      help: "Retry-safe key: the same key and request return the original job; a different "
        + "request with the same key is refused. Keys expire after 24 h."),
    ParameterDefinition(
      name: "from", kind: .string(maxLength: 256),
      help: "A job (id, unique id prefix or name) whose parameters this job starts with, as a "
        + "fork; every parameter given here overrides its value (name and idempotency_key are "
        + "never taken)."),
    ParameterDefinition(
      name: "init_from", kind: .string(maxLength: 300),
      help: "JOB or JOB:STEP: start from that job's adapter weights (its checkpoint at STEP, "
        + "default its last) with a fresh optimizer and schedule; the base model, LoRA rank "
        + "and target modules must be the same."),
    ParameterDefinition(
      name: "tracker", kind: .choice(["none", "mlflow", "wandb"]), defaultValue: .string("none"),
      help: "Experiment tracker besides TensorBoard (always: jobs/<id>/tb): mlflow logs parameters, "
        + "metrics and the adapter to the server MLFLOW_TRACKING_URI names; wandb writes an offline "
        + "W&B run under jobs/<id>/wandb for 'wandb sync'. Their variables reach the trainer by "
        + "name only."),
    ParameterDefinition(
      name: "executor", kind: .choice(["local", "slurm"]),
      help: "Where the job runs: this machine, or a Slurm cluster (sbatch; the state directory "
        + "must be on a filesystem the compute nodes share). Default: the policy's "
        + "default_executor (local)."),
    ParameterDefinition(
      name: "nodes", kind: .integer, minimum: 1, maximum: 1024, defaultValue: .number(1),
      help: "Nodes (executor slurm); more than one runs torchrun across them."),
    ParameterDefinition(
      name: "processes", kind: .integer, unit: "per node", minimum: 1, maximum: 64,
      help: "Training processes per node; default one per GPU (at least 1). More than one runs "
        + "the trainer under torchrun (NCCL on GPUs, gloo on CPU)."),
    ParameterDefinition(
      name: "slurm_partition", kind: .string(maxLength: 128),
      help: "Slurm partition (default: slurm.yaml's, else the cluster's default)."),
    ParameterDefinition(
      name: "slurm_account", kind: .string(maxLength: 128), help: "Slurm account to charge."),
    ParameterDefinition(name: "slurm_qos", kind: .string(maxLength: 128), help: "Slurm QOS."),
    ParameterDefinition(
      name: "slurm_memory", kind: .string(maxLength: 32),
      help: "Slurm memory per node (--mem), e.g. 64G."),
    ParameterDefinition(
      name: "time_limit", kind: .integer, unit: "minutes", minimum: 1, maximum: 525_600,
      help: "Slurm time limit; the trainer gets SIGTERM signal_seconds before it and checkpoints."),
  ])
}

/// The parameters of `dataset prepare` / `prepare_dataset`.
public enum PrepareParameters {
  /// The table.
  public static let table = ParameterTable([
    ParameterDefinition(
      name: "source", kind: .string(maxLength: 4096), required: true,
      help: "Dataset directory or archive (.tar, .tar.gz, .tar.zst, .zip)."),
    ParameterDefinition(
      name: "name", kind: .string(maxLength: 64), help: "Dataset name (default: the source's base name)."),
    ParameterDefinition(
      name: "format", kind: .choice(SourceFormat.allCases.map(\.rawValue)), defaultValue: .string("auto"),
      help: "Source format."),
    ParameterDefinition(
      name: "val_fraction", kind: .number, minimum: 0, maximum: 1, exclusiveMaximum: true,
      defaultValue: .number(0.1), help: "Fraction of episodes held out for validation."),
    ParameterDefinition(
      name: "shard_size", kind: .string(maxLength: 32), defaultValue: .string("256MB"),
      help: "Target shard size (256MB, 1GiB, …)."),
    ParameterDefinition(
      name: "seed", kind: .integer, minimum: 0, maximum: 2_147_483_647, defaultValue: .number(42),
      help: "Seed of the train/val split."),
    ParameterDefinition(
      name: "gripper_dim", kind: .string(maxLength: 8), defaultValue: .string("auto"),
      help: "Gripper action dimension excluded from normalization: auto, none or an index."),
    ParameterDefinition(
      name: "overwrite", kind: .boolean, defaultValue: .bool(false),
      help: "Replace an existing dataset with the same name."),
    ParameterDefinition(
      name: "camera_map", kind: .string(maxLength: 2048),
      help: "Cameras to take, in order, as slot=key pairs separated by commas (a bare key keeps "
        + "its default name; 'none' for no images; `dataset inspect` lists the keys). Default: "
        + "every camera."),
    ParameterDefinition(
      name: "fps", kind: .number, minimum: 0.1, maximum: 1000,
      help: "Control frequency (Hz): RLDS (default 10, with a warning), HDF5 (overrides the "
        + "file's own), npz (overrides meta.json) and episodes sources (only for episodes whose "
        + "meta.json has no fps; one recording another fps is an error)."),
    ParameterDefinition(
      name: "instruction", kind: .string(maxLength: 1024),
      help: "Language instruction for every episode of an RLDS or HDF5 source (required when "
        + "the source has none; overrides it otherwise)."),
    ParameterDefinition(
      name: "drop_noops", kind: .boolean, defaultValue: .bool(false),
      help: "RLDS and HDF5 sources: drop OpenVLA-style no-op steps (arm action norm < 1e-4 and "
        + "the gripper unchanged)."),
    ParameterDefinition(
      name: "filter_key", kind: .string(maxLength: 128),
      help: "HDF5 (robomimic) sources: take only the demos listed in mask/<filter_key> "
        + "(e.g. train, valid)."),
    ParameterDefinition(
      name: "rotate_180", kind: .string(maxLength: 1024),
      help: "RLDS and HDF5 sources: cameras (source keys, comma-separated) whose frames are "
        + "upside down and are turned 180° (LIBERO's agentview and wrist cameras)."),
    ParameterDefinition(
      name: "gripper_convention", kind: .choice(["open1", "close1"]),
      help: "RLDS and HDF5 sources: flip the gripper action (--gripper-dim, default the last) "
        + "into this convention: open1 = 1 is open (OpenVLA), close1 = 1 is closed (openpi); "
        + "a source in [-1, 1] is rescaled to [0, 1] first."),
    ParameterDefinition(
      name: "action_key", kind: .string(maxLength: 256),
      help: "LeRobot, HDF5, RLDS and npz sources: the key holding the actions (default: action "
        + "for LeRobot, actions/action for HDF5, steps/action for RLDS, actions/action for npz)."),
    ParameterDefinition(
      name: "state_keys", kind: .stringList(maxItems: 64),
      help: "LeRobot, HDF5, RLDS and npz sources: the keys whose values are concatenated into the "
        + "state, in order (HDF5: names under obs/ or observations/; RLDS: under "
        + "steps/observation/). Default: observation.state (LeRobot), every low-dimensional obs "
        + "dataset not named like the actions (robomimic), observations/qpos (ALOHA), "
        + "state/proprio (RLDS), state/qpos/proprio (npz)."),
    ParameterDefinition(
      name: "skip_incomplete", kind: .boolean, defaultValue: .bool(false),
      help: "LeRobot sources: leave out episodes whose data or video files are absent "
        + "(a warning) instead of failing."),
    ParameterDefinition(
      name: "follow_links", kind: .boolean, defaultValue: .bool(false),
      help: "Directory sources: follow symbolic links that lead outside the source when their "
        + "target is inside the policy's dataset_roots (without it such links are refused, 77; "
        + "archives never follow links)."),
  ])
}

/// The parameters of `job resume` / `resume_finetune_job`.
public enum ResumeParameters {
  /// The table.
  public static let table = ParameterTable([
    ParameterDefinition(
      name: "job", kind: .string(maxLength: 256), required: true,
      help: "The job to resume: id, unique id prefix or name; it must have ended (cancelled, "
        + "failed, lost or succeeded)."),
    ParameterDefinition(
      name: "checkpoint", kind: .string(maxLength: 32), defaultValue: .string("last"),
      help: "Where to continue: last (the newest complete checkpoint), best (the checkpoint with "
        + "the lowest val_l1) or a step number."),
    ParameterDefinition(
      name: "max_steps", kind: .integer, unit: "steps", minimum: 1, maximum: 10_000_000,
      help: "The new total of optimizer steps (more than the checkpoint's step); default the "
        + "job's own. The learning-rate schedule is recomputed for it."),
  ])
}
