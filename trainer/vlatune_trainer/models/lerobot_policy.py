"""LeRobot policy checkpoints (SmolVLA, pi0, pi0.5, GR00T N1.7, ACT, diffusion) fine-tuned with
LoRA in vlatune's own training loop: the policy's config shapes the batches (image slots,
observation history, action window), LeRobot's pre/post processors normalize with vlatune's exact
statistics in each family's own mode, and the output is a LeRobot ``pretrained_model`` directory
with the PEFT adapter that LeRobot's runtime loads unchanged.

Needs the LeRobot environment (``make venv-lerobot``: Python 3.12, lerobot 0.6.1)."""

from __future__ import annotations

import importlib
import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import TrainerError
from ..lerobot_batches import LeRobotBatcher, WindowSpec, resize_frames
from ..package import Package, read_shard
from ..spec import Hyperparameters

FAMILIES = ("smolvla", "pi0", "pi05", "groot", "act", "diffusion")
"""The LeRobot policy types vlatune trains (``config.json`` ``type``)."""

NEEDS_STATE = {
    "pi05": "writes the discretized state into its prompt",
    "groot": "encodes the state in its action head",
}
"""Families that cannot train without a state, and why."""

PI_TOKENIZER = "google/paligemma-3b-pt-224"
"""The tokenizer LeRobot 0.6.1's pi0 and pi0.5 processors name (PaliGemma's); ``--tokenizer``
names a local directory holding it instead."""

OWN_TARGETS = {
    # LoRA on nn.MultiheadAttention.out_proj never trains (lora_B stays 0: the module's weight
    # is read directly by F.multi_head_attention_forward), so ACT's targets are the feed-forward
    # layers of every transformer layer and the action head.
    "act": r"model\.(vae_encoder|encoder|decoder)\.layers\.\d+\.(linear1|linear2)|"
    r"model\.action_head",
    # The conditional U-Net's convolutions and FiLM encoders (not the vision backbone).
    # (residual_conv is an Identity where a block keeps its width, so it is left out.)
    "diffusion": r"diffusion\.unet\..*\.((conv1|conv2)\.block\.0|cond_encoder\.1)|"
    r"diffusion\.unet\.final_conv\.1",
    # The attention of the action head's DiT (self- and cross-attention to the backbone's
    # tokens); the embodiment projectors are per-embodiment tensors, not Linear layers.
    "groot": r"_groot_model\.action_head\.model\.transformer_blocks\.\d+\.attn1\."
    r"(to_q|to_k|to_v|to_out\.0)",
}
"""vlatune's LoRA targets for the families LeRobot defines none for."""

IMAGE_PREFIX = "observation.images."


def family(base_model: str) -> str | None:
    """The LeRobot policy type of a checkpoint directory, or ``None`` when it is not one."""
    config = Path(base_model).expanduser() / "config.json"
    try:
        kind = json.loads(config.read_text()).get("type")
    except (OSError, ValueError, AttributeError):
        return None
    return kind if kind in FAMILIES else None


def parse_image_map(value: dict[str, str] | str | None) -> dict[str, str]:
    """The spec's ``image_map`` ({slot: camera}, as job start writes it) or ``slot=camera,…``
    → {slot: camera}, slots without the ``observation.images.`` prefix."""
    if isinstance(value, dict):
        return {slot.removeprefix(IMAGE_PREFIX): camera for slot, camera in value.items()}
    result: dict[str, str] = {}
    for item in (value or "").split(","):
        if not item.strip():
            continue
        slot, _, camera = item.partition("=")
        result[slot.strip().removeprefix(IMAGE_PREFIX)] = camera.strip()
    return result


def camera_for_slots(
    slots: list[str], cameras: list[str], image_map: dict[str, str] | str | None
) -> list[str]:
    """The package camera feeding each image slot: ``--image-map``, else the same name."""
    mapping = parse_image_map(image_map)
    chosen = []
    for slot in slots:
        name = slot.removeprefix(IMAGE_PREFIX)
        camera = mapping.get(name, name)
        if camera not in cameras:
            raise TrainerError(
                "config_error",
                f"image slot {name!r} of the policy has no camera in the package (cameras: "
                f"{', '.join(cameras) or 'none'}; slots: "
                f"{', '.join(s.removeprefix(IMAGE_PREFIX) for s in slots)}); pass "
                "--image-map slot=camera,…",
            )
        chosen.append(camera)
    return chosen


def statistics(
    package: Package,
    proprio: list[int],
    slots: list[str],
    cameras: list[str],
    shape: tuple[int, int],
) -> dict[str, dict[str, torch.Tensor]]:
    """LeRobot's ``dataset_stats`` from vlatune's exact statistics: state (the selected
    dimensions) and action mean/std/min/max/q01/q99, and per image slot the per-channel
    mean/std/min/max of up to 64 training frames in [0, 1] (LeRobot samples frames too)."""
    stats = package.statistics
    keys = ("mean", "std", "min", "max", "q01", "q99")
    result: dict[str, dict[str, torch.Tensor]] = {
        "action": {k: torch.tensor(stats["action"][k], dtype=torch.float32) for k in keys},
    }
    if proprio:
        result["observation.state"] = {
            k: torch.tensor([stats["proprio"][k][i] for i in proprio], dtype=torch.float32)
            for k in keys
        }
    samples = (sample for shard in package.shards("train") for sample in read_shard(shard))
    taken = list(itertools.islice(samples, 64))
    frames = {camera: [sample.images[camera] for sample in taken] for camera in cameras}
    for slot, camera in zip(slots, cameras, strict=True):
        pixels = resize_frames(frames[camera], *shape).float().div_(255)
        per_channel = pixels.permute(1, 0, 2, 3).reshape(3, -1)
        result[slot] = {
            "mean": per_channel.mean(dim=1).view(3, 1, 1),
            "std": per_channel.std(dim=1).clamp(min=1e-3).view(3, 1, 1),
            "min": per_channel.min(dim=1).values.view(3, 1, 1),
            "max": per_channel.max(dim=1).values.view(3, 1, 1),
        }
    return result


@dataclass
class LeRobotActionModel:
    """A LoRA-wrapped LeRobot policy behind vlatune's ``ActionModel`` interface. Predictions
    are un-normalized actions (``raw_predictions``), through the policy's postprocessor."""

    model: torch.nn.Module
    preprocessor: Any
    postprocessor: Any
    slots: list[str]
    autocast: bool = False
    train_module: torch.nn.Module | None = None
    raw_predictions: bool = field(default=True, init=False)

    def inputs(self, batch: dict[str, Any], actions: bool) -> dict[str, Any]:
        images = batch["images"].float().div_(255)
        result: dict[str, Any] = {
            slot: images[..., index, :, :, :] for index, slot in enumerate(self.slots)
        }
        if batch["state"].shape[-1]:
            result["observation.state"] = batch["state"]
        result["task"] = list(batch["instructions"])
        if actions:
            result["action"] = batch["actions"]
            result["action_is_pad"] = ~batch["mask"]
        return self.preprocessor(result)

    def loss(self, batch: dict[str, Any], device: torch.device) -> torch.Tensor:
        inputs = self.inputs(batch, actions=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.autocast):
            loss, _ = (self.train_module or self.model)(inputs)
        return loss.float()

    @torch.no_grad()
    def predict(
        self, batch: dict[str, Any], device: torch.device
    ) -> tuple[np.ndarray, float | None]:
        inputs = self.inputs(batch, actions=False)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.autocast):
            chunk = self.model.predict_action_chunk(inputs)
        return self.postprocessor(chunk.float()).cpu().numpy(), None


@dataclass
class LeRobotBuild:
    """What ``policy.build`` needs from a LeRobot checkpoint."""

    action_model: LeRobotActionModel
    window: WindowSpec
    config: Any
    family: str
    base: Path


@contextmanager
def tokenizer_from(kind: str, directory: str | None) -> Iterator[None]:
    """While the processors are made: pi0's and pi0.5's ``TokenizerProcessorStep`` load
    ``directory`` instead of the hub id their factory hard-codes, so the step (and the saved
    ``policy_preprocessor.json``, which LeRobot's runtime reads) names the local tokenizer."""
    if kind not in ("pi0", "pi05") or directory is None:
        yield
        return
    module = importlib.import_module(f"lerobot.policies.{kind}.processor_{kind}")
    real = module.TokenizerProcessorStep

    def local_step(*args: Any, **options: Any) -> Any:
        options["tokenizer_name"] = directory
        return real(*args, **options)

    module.TokenizerProcessorStep = local_step
    try:
        yield
    finally:
        module.TokenizerProcessorStep = real


def groot_base(checkpoint: Path, named: str) -> str:
    """The raw GR00T N1.7 checkpoint a groot checkpoint's ``base_model_path`` names, as a
    directory: relative to the checkpoint's own directory, else a hub id's snapshot in the
    Hugging Face cache (offline), so LeRobot reads the base's sidecars (``processor_config.json``,
    ``statistics.json``) from it and the saved config names it."""
    local = checkpoint / Path(named).expanduser()
    if (local / "config.json").is_file():
        return str(local.resolve())
    from huggingface_hub import snapshot_download

    try:
        return str(snapshot_download(named, local_files_only=True))
    except Exception as error:  # the hub's errors for a bad id or a missing snapshot vary
        raise TrainerError(
            "config_error",
            f"the groot checkpoint's base_model_path {named!r} is neither a directory with "
            f"config.json (relative paths are read from {checkpoint}) nor in the Hugging Face "
            f"cache ({error})",
        ) from error


def groot_processor_from(preprocessor: Any, directory: str | None, policy: Any) -> None:
    """GR00T N1.7's VLM step loads its Qwen3-VL processor (tokenizer, image and video
    processors) from the hub id its factory hard-codes (``nvidia/Cosmos-Reason2-2B``); it loads
    ``directory`` (``--tokenizer``) instead, else the backbone directory the base names
    (``model_name``) when that is local, else the hub id (from the cache, offline). Loaded now,
    so a missing processor fails here; the saved ``policy_preprocessor.json`` names the source."""
    step = next(s for s in preprocessor.steps if type(s).__name__ == "GrootN17VLMEncodeStep")
    backbone = str(policy._groot_model.config.model_name)
    local = (Path(backbone) / "tokenizer_config.json").is_file()
    source = directory or (backbone if local else None)
    if source is not None:
        step.model_name = source
        step._proc = None
    try:
        _ = step.proc
    except OSError as error:
        raise TrainerError(
            "config_error",
            f"the groot policy's Qwen3-VL processor {step.model_name!r} could not be loaded "
            f"offline ({error}); pass --tokenizer DIR with its tokenizer, preprocessor_config.json "
            "and video_preprocessor_config.json",
        ) from error


def target_modules(kind: str, policy: torch.nn.Module, requested: list[str]) -> list[str] | str:
    """LeRobot's defaults (SmolVLA, pi0, pi0.5), vlatune's own (GR00T, ACT, diffusion), or the names
    given."""
    if requested and requested != ["all-linear"]:
        return requested
    defaults = policy._get_default_peft_targets()  # type: ignore[operator]
    if defaults and defaults.get("target_modules"):
        return defaults["target_modules"]
    return OWN_TARGETS[kind]


def build_lerobot(
    hyper: Hyperparameters,
    base: str,
    package: Package,
    proprio: list[int],
    device: torch.device,
    autocast: bool,
) -> LeRobotBuild:
    """Loads the checkpoint with the package's features, makes the processors from vlatune's
    statistics, and wraps the policy with LoRA."""
    from lerobot.configs.policies import PreTrainedConfig
    from lerobot.configs.types import FeatureType, PolicyFeature
    from lerobot.policies.factory import get_policy_class, make_pre_post_processors
    from peft import LoraConfig

    directory = Path(base).expanduser().resolve()
    kind = family(str(directory))
    config = PreTrainedConfig.from_pretrained(str(directory), local_files_only=True)
    config.device = device.type
    tokenizer = str(Path(hyper.tokenizer).expanduser().resolve()) if hyper.tokenizer else None
    if tokenizer and hasattr(config, "vlm_model_name"):
        config.vlm_model_name = tokenizer
    if kind in NEEDS_STATE and not proprio:
        raise TrainerError(
            "config_error",
            f"the {kind} policy {NEEDS_STATE[kind]} and needs one; "
            "train with a state (--proprio all or i,j,…)",
        )
    if hyper.gradient_checkpointing:
        # LeRobot's own switch (pi0 / pi0.5: the Gemma layers; diffusion: the U-Net blocks).
        if not hasattr(config, "gradient_checkpointing"):
            raise TrainerError(
                "config_error",
                f"gradient_checkpointing: LeRobot 0.6.1's {kind} policy has none (its config "
                "has no gradient_checkpointing); train without it",
            )
        config.gradient_checkpointing = True
    if kind == "groot":
        # GR00T autocasts to bf16 itself when use_bf16 is set, on CPU too.
        config.use_bf16 = autocast
        config.base_model_path = groot_base(directory, config.base_model_path)
    visual = {k: f for k, f in config.input_features.items() if f.type is FeatureType.VISUAL}
    slots = sorted(visual)
    if not slots:
        raise TrainerError("config_error", f"{directory}/config.json lists no image inputs")
    shape = tuple(visual[slots[0]].shape[-2:])
    cameras = camera_for_slots(slots, package.cameras, hyper.image_map)
    features: dict[str, PolicyFeature] = {
        slot: PolicyFeature(type=FeatureType.VISUAL, shape=(3, *visual[slot].shape[-2:]))
        for slot in slots
    }
    if proprio:
        features["observation.state"] = PolicyFeature(type=FeatureType.STATE, shape=(len(proprio),))
    config.input_features = features
    config.output_features = {
        "action": PolicyFeature(type=FeatureType.ACTION, shape=(package.action_dim,))
    }
    config.pretrained_path = str(directory)
    if kind == "groot" and not (directory / "model.safetensors").exists():
        # A config-only groot checkpoint: the weights are base_model_path's (a raw GR00T N1.7).
        policy = get_policy_class(kind)(config)
    else:
        policy = get_policy_class(kind).from_pretrained(str(directory), config=config)
    stats = statistics(package, proprio, slots, cameras, shape)  # type: ignore[arg-type]
    try:
        with tokenizer_from(kind, tokenizer):
            preprocessor, postprocessor = make_pre_post_processors(config, dataset_stats=stats)
    except OSError as error:
        name = tokenizer or (PI_TOKENIZER if kind in ("pi0", "pi05") else config.vlm_model_name)
        raise TrainerError(
            "config_error",
            f"the {kind} policy's tokenizer {name!r} could not be loaded offline ({error}); "
            "pass --tokenizer DIR with its files",
        ) from error
    if kind == "groot":
        groot_processor_from(preprocessor, tokenizer, policy)
    targets = target_modules(kind, policy, list(hyper.target_modules))
    lora = LoraConfig(
        r=hyper.lora_rank,
        lora_alpha=hyper.lora_alpha,
        lora_dropout=hyper.lora_dropout,
        target_modules=targets,
    )
    try:
        model = policy.wrap_with_peft(peft_config=lora)
    except ValueError as error:
        raise TrainerError(
            "config_error",
            f"target_modules {targets!r} cannot be applied to the {kind} policy: {error}",
        ) from error
    model.train()
    observation = config.observation_delta_indices
    window = WindowSpec(
        cameras=cameras,
        image_shape=shape,  # type: ignore[arg-type]
        proprio=proprio,
        observation_offsets=list(observation) if observation else None,
        action_offsets=list(config.action_delta_indices),
    )
    return LeRobotBuild(
        action_model=LeRobotActionModel(model, preprocessor, postprocessor, slots, autocast),
        window=window,
        config=config,
        family=kind,
        base=directory,
    )


def save_pretrained_model(built: LeRobotBuild, out: Path, image_map: dict[str, str]) -> None:
    """config.json (``use_peft``, the package's features) and the pre/post processors with
    vlatune's statistics next to the adapter: a LeRobot ``pretrained_model`` directory; and
    ``model_config.json`` for vlatune's own predict."""
    config = built.config
    config.use_peft = True
    config.pretrained_path = None
    config.save_pretrained(out)
    config.pretrained_path = str(built.base)
    built.action_model.preprocessor.save_pretrained(out)
    built.action_model.postprocessor.save_pretrained(out)
    (out / "model_config.json").write_text(
        json.dumps(
            {
                "model_type": "lerobot",
                "family": built.family,
                "base_model": str(built.base),
                "image_map": image_map,
            },
            indent=2,
        )
        + "\n"
    )


def new_batcher(package: Package, built: LeRobotBuild) -> LeRobotBatcher:
    return LeRobotBatcher(package, built.window)
