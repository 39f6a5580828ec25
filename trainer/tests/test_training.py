"""End-to-end runs of the trainer process on CPU: protocol events, LoRA wrapping, SIGTERM and
resume, PEFT output and predict."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import read_events, run_trainer, sigterm_once_started, write_spec
from peft import PeftModel
from vlatune_trainer.models.base import adapt_to_dataset, base_directory, load_tiny_base
from vlatune_trainer.models.policy import build
from vlatune_trainer.models.tiny_vla import linear_module_names
from vlatune_trainer.package import Package

pytestmark = pytest.mark.skipif(
    not (base_directory() / "model.safetensors").exists(),
    reason="tiny-vla base missing (make tiny-base)",
)


def test_lora_wraps_exactly_the_backbone_linears(
    make_package: Callable[..., Path], tmp_path: Path
) -> None:
    package = Package(make_package())
    spec = json.loads(write_spec(tmp_path, package.path).read_text())
    built = build(spec, package, list(range(package.state_dim)), torch.device("cpu"))
    model = built.action_model.model
    wrapped = sorted(
        name.removeprefix("base_model.model.")
        for name, module in model.named_modules()
        if hasattr(module, "lora_A")
        and isinstance(module.lora_A, torch.nn.ModuleDict)
        and module.lora_A
    )
    assert wrapped == linear_module_names(load_tiny_base())
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert all("lora_" in n or "action_head" in n for n in trainable)
    assert any("action_head.modules_to_save" in n for n in trainable)
    assert not any(
        "word_embed" in n or "norm" in n.split(".")[-2] for n in trainable if "action_head" not in n
    )


def test_run_emits_the_protocol_and_writes_a_loadable_adapter(
    make_package: Callable[..., Path], tmp_path: Path
) -> None:
    package = make_package()
    spec = write_spec(tmp_path, package, max_steps=12, checkpoint_interval=5)
    result = run_trainer(spec)
    assert result.returncode == 0, result.stderr
    kinds = [e["type"] for e in read_events(tmp_path)]
    assert kinds[0] == "started" and kinds[-1] == "completed"
    assert "progress" in kinds and "eval" in kinds
    assert read_events(tmp_path)[-1]["steps_per_second"] > 0
    steps = [e["step"] for e in read_events(tmp_path) if e["type"] == "checkpoint"]
    assert steps == [5, 10, 12]
    adapter = tmp_path / "output" / "adapter"
    for name in ("adapter_config.json", "adapter_model.safetensors", "dataset_statistics.json"):
        assert (adapter / name).exists(), name
    assert list(json.loads((tmp_path / "output" / "dataset_statistics.json").read_text())) == [
        "sample"
    ]
    assert (tmp_path / "output" / "train_config.json").exists()

    # The adapter loads with PEFT onto the base, and predict reproduces the trained model.
    from vlatune_trainer.predict import Policy

    policy = Policy(adapter)
    base = load_tiny_base()
    adapt_to_dataset(base, 7, 8, 4, 3)
    loaded = PeftModel.from_pretrained(base, str(adapter)).eval()
    images = torch.rand(2, 2, 3, 64, 64)
    words = torch.randint(1, 512, (2, 12))
    state = torch.randn(2, 8)
    with torch.no_grad():
        expected = loaded(images, words, state).numpy()
    assert np.allclose(policy.predict_normalized(images, words, state), expected, atol=1e-6)
    source = next(Path(package).glob("shards/val-*.tar"))
    assert source.exists()


@pytest.mark.parametrize("workers", [0, 2])
def test_sigterm_checkpoints_and_resume_matches_an_uninterrupted_run(
    make_package: Callable[..., Path], tmp_path: Path, workers: int
) -> None:
    package = make_package()
    options = {"max_steps": 40, "checkpoint_interval": 100, "data_workers": workers}
    whole = write_spec(tmp_path / "whole", package, **options)
    assert run_trainer(whole).returncode == 0
    reference = [e for e in read_events(tmp_path / "whole") if e["type"] == "progress"][-1]

    split = write_spec(tmp_path / "split", package, **options)
    events = sigterm_once_started(split)
    assert events[-1]["type"] == "cancelled"
    stopped = events[-1]["step"]
    assert 1 <= stopped < 40
    assert [e for e in events if e["type"] == "checkpoint"][-1]["step"] == stopped
    assert (
        tmp_path / "split" / "checkpoints" / f"step-{stopped:07d}" / "adapter.safetensors"
    ).exists()

    resumed = run_trainer(split, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    final = [e for e in read_events(tmp_path / "split") if e["type"] == "progress"][-1]
    assert final["step"] == reference["step"] == 40
    # Same batches, same RNG and optimizer state: the curve continues exactly; the tolerance
    # allows only float reassociation between runs.
    assert math.isclose(final["loss"], reference["loss"], rel_tol=1e-5, abs_tol=1e-7)


def test_gradient_checkpointing_changes_memory_not_results(
    make_package: Callable[..., Path], tmp_path: Path
) -> None:
    package = make_package()
    losses = []
    for checkpointing in (False, True):
        directory = tmp_path / f"checkpointing-{checkpointing}"
        spec = write_spec(directory, package, max_steps=8, gradient_checkpointing=checkpointing)
        assert run_trainer(spec).returncode == 0
        losses.append([e["loss"] for e in read_events(directory) if e["type"] == "progress"][-1])
    assert math.isclose(losses[0], losses[1], rel_tol=1e-5, abs_tol=1e-7)


def test_constant_schedule_holds_the_learning_rate_after_warmup(
    make_package: Callable[..., Path], tmp_path: Path
) -> None:
    spec = write_spec(tmp_path, make_package(), max_steps=4, lr_schedule="constant")
    assert run_trainer(spec).returncode == 0
    rates = [e["learning_rate"] for e in read_events(tmp_path) if e["type"] == "progress"]
    assert rates[-1] == pytest.approx(1e-3)
    evals = [e for e in read_events(tmp_path) if e["type"] == "eval"]
    assert evals and all(math.isfinite(e["val_loss"]) for e in evals)


def test_damaged_package_fails_with_data_error(
    make_package: Callable[..., Path], tmp_path: Path
) -> None:
    import shutil

    copy = tmp_path / "package"
    shutil.copytree(make_package(), copy)
    shard = next((copy / "shards").glob("train-*.tar"))
    shard.write_bytes(shard.read_bytes()[:-100] + b"x" * 100)
    result = run_trainer(write_spec(tmp_path / "job", copy))
    assert result.returncode != 0
    failed = read_events(tmp_path / "job")[-1]
    assert failed["type"] == "failed" and failed["code"] == "data_error"
