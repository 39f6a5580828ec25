"""The one small interface the training loop sees: a model that gives a loss for a batch and
normalized action predictions, whichever base it was built from (tiny-vla or a Hugging Face
checkpoint directory)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from peft import LoraConfig, get_peft_model

from ..errors import TrainerError
from ..images import pixels
from ..package import Package
from ..spec import Hyperparameters, JobSpec
from . import hf_vla, lerobot_policy
from .base import adapt_to_dataset, load_tiny_base
from .tiny_vla import TinyVLA, linear_module_names, tokenize


class ActionModel(Protocol):
    """What training and evaluation need from a model.

    ``model`` is the PEFT model (saved, evaluated); ``train_module``, when set, is what the loss
    runs through (the DistributedDataParallel wrapper of ``model`` under torchrun).
    """

    model: torch.nn.Module
    train_module: torch.nn.Module | None

    def loss(self, batch: dict[str, Any], device: torch.device) -> torch.Tensor: ...

    def predict(
        self, batch: dict[str, Any], device: torch.device
    ) -> tuple[np.ndarray, float | None]: ...


def masked_l1(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over the unpadded steps of each chunk."""
    weights = mask.unsqueeze(-1).expand_as(target).float()
    return ((prediction - target).abs() * weights).sum() / weights.sum().clamp(min=1)


@dataclass
class TinyActionModel:
    """tiny-vla with LoRA: continuous chunk head, L1 loss."""

    model: torch.nn.Module
    autocast: bool = False
    train_module: torch.nn.Module | None = None

    def forward(
        self, batch: dict[str, Any], device: torch.device, module: torch.nn.Module | None = None
    ) -> torch.Tensor:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.autocast):
            return (module or self.model)(
                pixels(batch["images"], device),
                batch["words"].to(device, non_blocking=True),
                batch["state"].to(device, non_blocking=True),
            ).float()

    def loss(self, batch: dict[str, Any], device: torch.device) -> torch.Tensor:
        return masked_l1(
            self.forward(batch, device, self.train_module),
            batch["actions"].to(device, non_blocking=True),
            batch["mask"].to(device, non_blocking=True),
        )

    @torch.no_grad()
    def predict(
        self, batch: dict[str, Any], device: torch.device
    ) -> tuple[np.ndarray, float | None]:
        return self.forward(batch, device).cpu().numpy(), None


@dataclass
class TokenActionAdapter:
    """A Hugging Face checkpoint with LoRA: OpenVLA-style action tokens."""

    model: torch.nn.Module
    tokens: hf_vla.TokenActionModel
    autocast: bool = False
    train_module: torch.nn.Module | None = None

    def loss(self, batch: dict[str, Any], device: torch.device) -> torch.Tensor:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.autocast):
            return self.tokens.loss(batch, device, self.train_module).float()

    def predict(
        self, batch: dict[str, Any], device: torch.device
    ) -> tuple[np.ndarray, float | None]:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=self.autocast):
            return self.tokens.predict(batch, device)


@dataclass
class BuiltModel:
    """A model ready to train plus what the data pipeline and the output need to know."""

    action_model: ActionModel
    image_size: int
    cameras: int
    tokenize: Callable[[str], list[int]]
    save_config: Callable[[Path], None]
    prepare: Callable[[dict[str, Any]], dict[str, torch.Tensor]] | None = None
    """Model inputs a data worker computes from a training batch ahead of the step (a Hugging
    Face processor's work), or ``None`` when the step needs nothing beyond the batch."""
    batcher: Callable[[Package], Any] | None = None
    """The model's own batch builder (LeRobot policies: raw windows at the policy's offsets),
    or ``None`` for vlatune's ``Batcher``."""


def lora_config(hyper: Hyperparameters, targets: list[str] | str, full: list[str]) -> LoraConfig:
    return LoraConfig(
        r=hyper.lora_rank,
        lora_alpha=hyper.lora_alpha,
        lora_dropout=hyper.lora_dropout,
        target_modules=targets,
        modules_to_save=full or None,
        init_lora_weights="gaussian",
    )


def build(spec: JobSpec, package: Package, proprio: list[int], device: torch.device) -> BuiltModel:
    """tiny-vla (``base_model: tiny-vla``) or a local Hugging Face checkpoint directory."""
    hyper = spec.hyperparameters
    autocast = device.type == "cuda" and hyper.precision in ("auto", "bf16")
    if spec.base_model == "tiny-vla":
        return build_tiny(hyper, package, proprio, autocast)
    if lerobot_policy.family(spec.base_model):
        return build_lerobot(hyper, spec.base_model, package, proprio, device, autocast)
    if hf_vla.is_checkpoint_directory(spec.base_model):
        return build_hf(hyper, Path(spec.base_model).expanduser(), device, autocast)
    raise TrainerError(
        "config_error",
        f"base_model {spec.base_model!r}: use tiny-vla or a local directory holding a Hugging "
        "Face vision-language checkpoint (config.json, weights, processor files)",
    )


def build_tiny(
    hyper: Hyperparameters, package: Package, proprio: list[int], autocast: bool
) -> BuiltModel:
    base = load_tiny_base()
    if hyper.image_size not in (None, base.config.image_size):
        raise TrainerError(
            "config_error",
            f"tiny-vla was pretrained at image_size {base.config.image_size}, "
            f"got {hyper.image_size}",
        )
    full = adapt_to_dataset(
        base, package.action_dim, max(len(proprio), 1), hyper.action_chunk, hyper.seed
    )
    targets = hyper.target_modules or ["all-linear"]
    if targets == ["all-linear"]:
        targets = [t for t in linear_module_names(base) if not any(t.startswith(f) for f in full)]
    model = get_peft_model(base, lora_config(hyper, targets, full))
    if hyper.gradient_checkpointing:
        base.gradient_checkpointing = True
    config = base.config

    def save_config(directory: Path) -> None:
        model_base = model.get_base_model()
        assert isinstance(model_base, TinyVLA)
        model_base.config.save(directory / "model_config.json")

    return BuiltModel(
        action_model=TinyActionModel(model, autocast),
        image_size=config.image_size,
        cameras=config.cameras,
        tokenize=lambda text: tokenize(text, config),
        save_config=save_config,
    )


def build_hf(
    hyper: Hyperparameters, directory: Path, device: torch.device, autocast: bool
) -> BuiltModel:
    dtype = torch.bfloat16 if autocast else torch.float32
    processor, base = hf_vla.load_checkpoint(directory, dtype, hyper.trust_remote_code)
    targets = hyper.target_modules or ["all-linear"]
    lora_targets: list[str] | str = "all-linear" if targets == ["all-linear"] else targets
    if hyper.gradient_checkpointing:
        base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        base.enable_input_require_grads()
    model = get_peft_model(base, lora_config(hyper, lora_targets, []))
    tokens = hf_vla.TokenActionModel(processor, model, hyper.action_chunk)
    size = hyper.image_size or hf_vla.native_image_size(processor)

    def save_config(out: Path) -> None:
        import json

        (out / "model_config.json").write_text(
            json.dumps(hf_vla.describe(directory, size), indent=2) + "\n"
        )

    return BuiltModel(
        action_model=TokenActionAdapter(model, tokens, autocast),
        image_size=size,
        cameras=1,
        tokenize=lambda _text: [0],
        save_config=save_config,
        prepare=tokens.inputs,
    )


def build_lerobot(
    hyper: Hyperparameters,
    base: str,
    package: Package,
    proprio: list[int],
    device: torch.device,
    autocast: bool,
) -> BuiltModel:
    built = lerobot_policy.build_lerobot(hyper, base, package, proprio, device, autocast)
    image_map = dict(zip(built.action_model.slots, built.window.cameras, strict=True))
    return BuiltModel(
        action_model=built.action_model,
        image_size=built.window.image_shape[0],
        cameras=len(built.window.cameras),
        tokenize=lambda _text: [0],
        save_config=lambda out: lerobot_policy.save_pretrained_model(built, out, image_map),
        batcher=lambda package: lerobot_policy.new_batcher(package, built),
    )
