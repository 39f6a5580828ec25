"""The job spec vlatune writes (``jobs/<id>/spec.json``, CONTRACT §7), typed.

vlatune's parameter table (Sources/VlatuneGuardrails/Parameters) is the one place parameters
and their defaults are written: the spec arrives complete, so nothing here has a default of its
own beyond ``None`` for what a spec may leave out. Reading is strict both ways: a missing field
or one this trainer does not know is a ``config_error`` naming it, and
``trainer/tests/test_spec.py`` holds these classes to the specs the real binary writes.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .errors import TrainerError

T = TypeVar("T")


@dataclass(frozen=True)
class Hyperparameters:
    """``spec["hyperparameters"]``: the training parameters, every default filled in."""

    lora_rank: int
    lora_alpha: float
    lora_dropout: float
    learning_rate: float
    batch_size: int
    grad_accum: int
    effective_batch_size: int
    max_steps: int
    seed: int
    action_chunk: int
    proprio: str
    precision: str
    checkpoint_interval: int
    target_modules: list[str]
    lr_schedule: str
    data_workers: int
    gradient_checkpointing: bool
    trust_remote_code: bool
    image_size: int | None = None
    """``None``: the model's native size."""
    image_map: dict[str, str] | None = None
    """LeRobot policies: the package camera feeding each image slot."""
    tokenizer: str | None = None
    """LeRobot SmolVLA: the local backbone directory."""


@dataclass(frozen=True)
class DatasetRef:
    """``spec["dataset"]``: the resolved package."""

    id: str
    name: str
    path: str
    fingerprint: str
    statistics: str


@dataclass(frozen=True)
class Resume:
    """``spec["resume"]``: the checkpoint `job resume` continues from."""

    checkpoint: str
    step: int
    attempt: int


@dataclass(frozen=True)
class Evaluation:
    """``spec["evaluation"]``: what an evaluation job (``vlatune job eval``) runs."""

    adapter: str
    """The adapter directory (``output/adapter``, ``output/best`` or a checkpoint's)."""
    checkpoint: str
    """Which it is: ``final``, ``best``, ``step-N``, ``base`` (the untrained start) or
    ``path``."""
    env: str
    task: str
    episodes: int
    max_steps: int
    seed: int
    image_size: int
    videos: int
    source_job: str | None = None
    weights: str | None = None
    """A checkpoint directory whose adapter weights replace the final ones (``step-N``)."""
    action_horizon: int | None = None
    """Actions run from each predicted chunk; ``None``: the chunk the model was trained with."""


@dataclass(frozen=True)
class JobSpec:
    """The whole spec. ``raw`` keeps the JSON as read (copied into ``train_config.json``)."""

    schema_version: int
    job_id: str
    created_at: str
    base_model: str
    dataset: DatasetRef
    hyperparameters: Hyperparameters
    gpus: int
    executor: str
    job_dir: str
    output_dir: str
    checkpoints_dir: str
    events_path: str
    trainer: dict[str, Any]
    metadata: dict[str, str]
    max_running_jobs: int
    name: str | None = None
    base_model_kind: str | None = None
    memory_estimate: dict[str, Any] | None = None
    distributed: dict[str, Any] | None = None
    slurm: dict[str, Any] | None = None
    parameters: dict[str, Any] | None = None
    resume: Resume | None = None
    init_adapter: str | None = None
    tracker: str | None = None
    evaluation: Evaluation | None = None
    raw: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False, repr=False)

    @staticmethod
    def load(path: Path) -> JobSpec:
        """Reads and checks ``spec.json``."""
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise TrainerError("config_error", f"cannot read the spec {path}: {error}") from error
        return JobSpec.from_json(data)

    @staticmethod
    def from_json(data: object) -> JobSpec:
        """The spec of a JSON object; a ``config_error`` names each field missing, unknown or of
        the wrong type."""
        if not isinstance(data, dict):
            raise TrainerError("config_error", "the spec must be a JSON object")
        spec = typed(JobSpec, data, "spec")
        return dataclasses.replace(spec, raw=data)


def typed(cls: type[T], data: object, where: str) -> T:
    """An instance of the dataclass ``cls`` from ``data``, strictly."""
    if not isinstance(data, dict):
        raise TrainerError("config_error", f"{where} must be a JSON object")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "raw"}  # type: ignore[arg-type]
    hints = typing.get_type_hints(cls)
    problems = [
        f"{where}.{k} is not a field vlatune's trainer knows" for k in data if k not in fields
    ]
    values: dict[str, Any] = {}
    for name, field in fields.items():
        if name not in data:
            has_default = (
                field.default is not dataclasses.MISSING
                or field.default_factory is not dataclasses.MISSING
            )
            if not has_default:
                problems.append(f"{where}.{name} is missing")
            continue
        try:
            values[name] = convert(hints[name], data[name], f"{where}.{name}")
        except TrainerError as error:
            problems.append(error.message)
    if problems:
        raise TrainerError(
            "config_error",
            "the spec does not match this trainer (was it written by another vlatune version?): "
            + "; ".join(problems),
        )
    return cls(**values)


def convert(hint: Any, value: object, where: str) -> Any:
    """``value`` checked against the type ``hint`` (dataclasses built recursively)."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        (inner,) = [option for option in options if option is not type(None)]
        return convert(inner, value, where)
    if dataclasses.is_dataclass(hint):
        return typed(hint, value, where)  # type: ignore[arg-type]
    expected = origin or hint
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if expected is Any:
        return value
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise TrainerError(
            "config_error", f"{where} must be {getattr(expected, '__name__', expected)}"
        )
    return value
