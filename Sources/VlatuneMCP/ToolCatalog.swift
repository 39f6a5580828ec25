import MCP
import VlatuneCore

/// The tools `vlatune mcp` serves, with schemas generated from the parameter tables and the
/// annotations the spec defines (hints for clients, not guarantees).
enum ToolCatalog {
  static let reference: [String: Value] = [
    "job": .object(["type": "string", "minLength": 1, "description": "Job id, unique id prefix, or name."])
  ]

  static var tools: [Tool] {
    [
      Tool(
        name: "prepare_dataset", title: "Prepare a robot dataset",
        description: "Validate recorded robot episodes (an `episodes` directory or .tar/.tar.gz/"
          + ".tar.zst/.zip, a LeRobotDataset v2.0/v2.1/v3.0, an RLDS/TFDS directory or robomimic/"
          + "ALOHA HDF5 files, on this machine) and "
          + "write a checksummed, training-ready package with normalization statistics. Returns "
          + "the dataset document; errors name the episode, step and field.",
        inputSchema: JSONSchema.input(PrepareParameters.table),
        annotations: .init(
          title: "Prepare dataset", readOnlyHint: false, destructiveHint: false,
          idempotentHint: false, openWorldHint: false),
        outputSchema: JSONSchema.output([
          "id": "string", "name": "string", "episodes": "integer", "steps": "integer",
          "stats": "object", "shards": "array", "warnings": "array",
        ])),
      Tool(
        name: "start_finetune_job", title: "Start a LoRA fine-tune",
        description: "Start a LoRA fine-tuning job of a VLA base model on a prepared dataset (or, with "
          + "from, with another job's parameters, overriding those given). Returns "
          + "at once with the job document (poll get_finetune_job). Safe to retry ONLY with the same "
          + "idempotency_key: the same key and arguments return the original job (replayed: true); "
          + "without a key every call starts a new job. Rate limits, caps and GPU-hour budgets apply; "
          + "a refusal says when to retry (retry_after_seconds). dry_run checks without starting.",
        inputSchema: JSONSchema.input(
          JobParameters.table,
          extra: [
            "dry_run": .object([
              "type": "boolean", "default": false,
              "description": "Validate and evaluate policy and limits; start and consume nothing.",
            ])
          ]),
        annotations: .init(
          title: "Start LoRA fine-tune", readOnlyHint: false, destructiveHint: false,
          idempotentHint: false, openWorldHint: false),
        outputSchema: JSONSchema.output([
          "id": "string", "state": "string", "replayed": "boolean", "progress": "object",
          "would_start": "boolean",
        ])),
      Tool(
        name: "resume_finetune_job", title: "Resume a fine-tuning job",
        description: "Continue a job that has ended (cancelled, failed, lost or succeeded) from a "
          + "checkpoint (last, best or a step) with its optimizer, schedule, RNG and data position, "
          + "as the same job id with a new attempt. Admitted like a start (rate limits, caps, "
          + "GPU-hour budget for the steps left). Safe to retry: a job that is running again is "
          + "refused (invalid_argument), never resumed twice. Returns at once with the job.",
        inputSchema: JSONSchema.input(ResumeParameters.table),
        annotations: .init(
          title: "Resume job", readOnlyHint: false, destructiveHint: false, idempotentHint: false,
          openWorldHint: false),
        outputSchema: JSONSchema.output(["id": "string", "state": "string", "attempt": "integer"])),
      Tool(
        name: "evaluate_policy", title: "Evaluate a fine-tuned policy in simulation",
        description: "Start a closed-loop evaluation of a job's adapter in a simulator task (Meta-World): "
          + "episodes from seeded variations no demonstration used, success rate with a 95 % interval, mean "
          + "episode length, per-episode results and videos. It is a job of its own (poll get_finetune_job "
          + "for its evaluation; the trained job's document shows its latest). Safe to retry ONLY with the "
          + "same idempotency_key. Unknown env or task is refused (invalid_argument) with the list.",
        inputSchema: JSONSchema.input(EvalParameters.table),
        annotations: .init(
          title: "Evaluate policy", readOnlyHint: false, destructiveHint: false, idempotentHint: false,
          openWorldHint: false),
        outputSchema: JSONSchema.output(["id": "string", "state": "string", "evaluation": "object"])),
      Tool(
        name: "get_finetune_job", title: "Get a fine-tuning job",
        description: "The job document: state, progress, loss, checkpoints, outputs, error.",
        inputSchema: .object([
          "type": "object", "properties": .object(reference), "required": ["job"],
          "additionalProperties": false,
        ]),
        annotations: .init(title: "Get job", readOnlyHint: true, openWorldHint: false),
        outputSchema: JSONSchema.output(["id": "string", "state": "string", "progress": "object"])),
      Tool(
        name: "list_finetune_jobs", title: "List fine-tuning jobs",
        description: "Jobs, newest first, optionally of one state, with a name prefix or labels.",
        inputSchema: .object([
          "type": "object",
          "properties": .object([
            "state": .object([
              "type": "string", "enum": .array(JobState.allCases.map { .string($0.rawValue) }),
            ]),
            "limit": .object(["type": "integer", "minimum": 1, "maximum": 10000, "default": 50]),
            "name_prefix": .object([
              "type": "string", "maxLength": 64, "description": "Only jobs whose name starts with this.",
            ]),
            "metadata": .object([
              "type": "object", "additionalProperties": .object(["type": "string"]),
              "description": "Only jobs with every one of these labels (metadata key: value).",
            ]),
          ]),
          "additionalProperties": false,
        ]),
        annotations: .init(title: "List jobs", readOnlyHint: true, openWorldHint: false),
        outputSchema: JSONSchema.output(["jobs": "array"])),
      Tool(
        name: "cancel_finetune_job", title: "Cancel a fine-tuning job",
        description: "Cancel a job (idempotent): SIGTERM to the trainer, which writes a resumable "
          + "checkpoint, then SIGKILL after grace_seconds. Returns at once with the job (state "
          + "cancelling or cancelled).",
        inputSchema: .object([
          "type": "object",
          "properties": .object(
            reference.merging([
              "grace_seconds": .object([
                "type": "number", "minimum": 0, "maximum": 86400, "default": 30,
              ]),
              "reason": .object(["type": "string", "maxLength": 512]),
            ]) { first, _ in first }),
          "required": ["job"], "additionalProperties": false,
        ]),
        annotations: .init(
          title: "Cancel job", readOnlyHint: false, destructiveHint: true, idempotentHint: true,
          openWorldHint: false),
        outputSchema: JSONSchema.output(["id": "string", "state": "string"])),
      Tool(
        name: "list_datasets", title: "List prepared datasets",
        description: "Prepared datasets, newest first.",
        inputSchema: .object(["type": "object", "properties": .object([:]), "additionalProperties": false]),
        annotations: .init(title: "List datasets", readOnlyHint: true, openWorldHint: false),
        outputSchema: JSONSchema.output(["datasets": "array"])),
    ]
  }
}
