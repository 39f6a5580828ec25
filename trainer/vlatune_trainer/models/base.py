"""Where the pretrained tiny-vla base comes from, and how a base is adapted to a dataset."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from safetensors.torch import load_file

from ..errors import TrainerError
from .tiny_vla import ActionHead, TinyVLA, TinyVLAConfig

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "tiny-vla"


def base_directory() -> Path:
    """``$VLATUNE_TINY_BASE``, else the base shipped with the package, else the cache that
    ``python -m vlatune_trainer.pretrain`` fills."""
    if explicit := os.environ.get("VLATUNE_TINY_BASE"):
        return Path(explicit)
    if (ASSETS / "model.safetensors").exists():
        return ASSETS
    home = os.environ.get("VLATUNE_HOME") or str(Path.home() / ".local/share/vlatune")
    return Path(home) / "models" / "tiny-vla"


def load_tiny_base(directory: Path | None = None) -> TinyVLA:
    """Loads the pretrained tiny-vla base (config.json + model.safetensors)."""
    directory = directory or base_directory()
    weights = directory / "model.safetensors"
    if not weights.exists():
        raise TrainerError(
            "config_error",
            f"the pretrained tiny-vla base is missing at {directory}; create it with "
            "'make tiny-base' (python -m vlatune_trainer.pretrain)",
        )
    config = TinyVLAConfig.load(directory / "config.json")
    model = TinyVLA(config)
    model.load_state_dict(load_file(str(weights)))
    return model


def adapt_to_dataset(
    model: TinyVLA, action_dim: int, state_dim: int, chunk: int, seed: int
) -> list[str]:
    """Replaces the parts whose shape depends on the dataset (the action head when the action
    dimension or chunk differs, the state embedding when the state dimension differs).

    Returns the names of modules that must be trained fully (saved with the adapter).
    """
    generator = torch.Generator().manual_seed(seed)
    replaced = ["action_head"]
    config = model.config
    if action_dim != config.action_dim or chunk != config.chunk:
        new = TinyVLAConfig(**{**config.__dict__, "action_dim": action_dim, "chunk": chunk})
        model.config = new
        model.action_head = ActionHead(new)
        with torch.no_grad():
            for layer in (
                model.action_head.reduce,
                model.action_head.hidden,
                model.action_head.out,
            ):
                layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator) * 0.02)
                layer.bias.zero_()
    if state_dim != config.state_dim:
        model.state_embed = torch.nn.Linear(max(state_dim, 1), config.width)
        model.config = TinyVLAConfig(**{**model.config.__dict__, "state_dim": max(state_dim, 1)})
        replaced.append("state_embed")
    return replaced
