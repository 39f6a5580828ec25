"""Atomic, resumable checkpoints: adapter and fully trained modules, optimizer, scheduler, RNG
states, step and data position, written to a temporary directory and renamed into place."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from peft import get_peft_model_state_dict, set_peft_model_state_dict
from safetensors.torch import load_file, save_file

from .errors import TrainerError


def save(
    directory: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    step: int,
    extra: dict[str, Any],
) -> Path:
    final = directory / f"step-{step:07d}"
    temporary = directory / f".step-{step:07d}.tmp"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    weights = {
        k: v.detach().cpu().contiguous() for k, v in get_peft_model_state_dict(model).items()
    }
    save_file(weights, str(temporary / "adapter.safetensors"))
    torch.save(
        {
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": {
                "python": random.getstate(),
                "numpy": np.random.get_state(),
                "torch": torch.get_rng_state(),
            },
        },
        temporary / "state.pt",
    )
    (temporary / "trainer_state.json").write_text(
        json.dumps({"step": step, **extra}, indent=2) + "\n"
    )
    if final.exists():
        shutil.rmtree(final)
    temporary.rename(final)
    return final


def latest(directory: Path) -> Path | None:
    candidates = sorted(p for p in directory.glob("step-*") if (p / "trainer_state.json").exists())
    return candidates[-1] if candidates else None


def load_weights(path: Path, model: torch.nn.Module) -> None:
    """Loads only a checkpoint's adapter (and fully trained module) weights, for a new run that
    starts from another job's adapter (``init_from``); optimizer and schedule start fresh."""
    weights = path / "adapter.safetensors"
    if not weights.exists():
        raise TrainerError(
            "init_failed", f"{weights} is missing: the checkpoint to start from is incomplete"
        )
    try:
        result = set_peft_model_state_dict(model, load_file(str(weights)))
    except RuntimeError as error:  # tensors of another shape (another LoRA rank)
        raise TrainerError(
            "init_failed",
            f"the adapter in {path} does not fit this model ({str(error).splitlines()[0]}); "
            "start from a job with the same base model, LoRA rank and targets",
        ) from error
    unexpected = getattr(result, "unexpected_keys", [])
    if unexpected:
        raise TrainerError(
            "init_failed",
            f"the adapter in {path} does not fit this model (unexpected weights such as "
            f"{unexpected[0]}); start from a job with the same base model, LoRA rank and targets",
        )


def load(
    path: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
) -> dict[str, Any]:
    set_peft_model_state_dict(model, load_file(str(path / "adapter.safetensors")))
    state = torch.load(path / "state.pt", weights_only=False)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    random.setstate(state["rng"]["python"])
    np.random.set_state(state["rng"]["numpy"])
    torch.set_rng_state(state["rng"]["torch"])
    return json.loads((path / "trainer_state.json").read_text())
