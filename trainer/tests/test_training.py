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
from vlatune_trainer.spec import JobSpec
from vlatune_trainer.train import human_duration, progress_line

pytestmark = pytest.mark.skipif(
    not (base_directory() / "model.safetensors").exists(),
    reason="tiny-vla base missing (make tiny-base)",
)


def test_lora_wraps_exactly_the_backbone_linears(
    make_package: Callable[..., Path], tmp_path: Path
) -> None:
    package = Package(make_package())
    spec = JobSpec.load(write_spec(tmp_path, package.path))
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
    completed = read_events(tmp_path)[-1]
    assert completed["steps_per_second"] > 0
    # The process imported torch and trained: its peak resident memory is well past 50 MiB.
    assert completed["peak_rss_bytes"] > 50 * 2**20
    # The first step's forward kept at least every block's input for backward: 4 blocks ×
    # batch 16 × 45 tokens × width 128 in fp32.
    assert completed["saved_activation_bytes"] >= 4 * 16 * 45 * 128 * 4
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


def test_progress_lines_and_grad_norm_reach_the_log_and_events(
    make_package: Callable[..., Path], tmp_path: Path
) -> None:
    package = make_package()
    spec = write_spec(tmp_path / "run", package, max_steps=6, checkpoint_interval=3)
    result = run_trainer(spec)
    assert result.returncode == 0, result.stderr
    progress = [e for e in read_events(tmp_path / "run") if e["type"] == "progress"]
    # Fewer than 100 steps: every step is reported, each with its gradient norm.
    assert [e["step"] for e in progress] == [1, 2, 3, 4, 5, 6]
    assert all(e["grad_norm"] > 0 and math.isfinite(e["grad_norm"]) for e in progress)
    lines = result.stdout.splitlines()
    steps = [line for line in lines if line.startswith("step ")]
    assert len(steps) == 6 and steps[-1].startswith("step 6/6 loss ")
    assert " grdn " in steps[0] and " lr " in steps[0] and steps[0].split(" eta ")[1]
    assert any(line.startswith("eval step 6 val_loss ") for line in lines)
    assert any(line.startswith("checkpoint step 3 ") for line in lines)


def test_human_duration_and_progress_line() -> None:
    assert [human_duration(s) for s in (4.4, 59.6, 252, 7500)] == ["4s", "1m00s", "4m12s", "2h05m"]
    line = progress_line(
        {
            "step": 120,
            "total_steps": 400,
            "loss": 0.2134,
            "grad_norm": 0.81,
            "learning_rate": 4.1e-4,
            "samples_per_second": 210.4,
        },
        0.25,
    )
    assert line == "step 120/400 loss 0.2134 grdn 0.81 lr 0.00041 smp/s 210.4 eta 1m10s"


def test_resume_from_a_chosen_checkpoint_and_init_from_another_adapter(
    make_package: Callable[..., Path], tmp_path: Path
) -> None:
    package = make_package()
    source = write_spec(tmp_path / "source", package, max_steps=6, checkpoint_interval=3)
    assert run_trainer(source).returncode == 0
    chosen = tmp_path / "source" / "checkpoints" / "step-0000003"
    # `job resume --checkpoint 3`: the spec names the checkpoint; training continues from it.
    spec = json.loads(source.read_text())
    spec["resume"] = {"checkpoint": str(chosen), "step": 3, "attempt": 2}
    spec["hyperparameters"]["max_steps"] = 8
    source.write_text(json.dumps(spec))
    result = run_trainer(source)
    assert result.returncode == 0, result.stderr
    assert f"resumed from {chosen} at step 3" in result.stdout
    started = [e for e in read_events(tmp_path / "source") if e["type"] == "started"][-1]
    assert started["resumed_from"] == 3 and started["total_steps"] == 8

    # A missing checkpoint is a clear failure, not a fresh start.
    spec["resume"]["checkpoint"] = str(tmp_path / "nowhere")
    source.write_text(json.dumps(spec))
    missing = run_trainer(source)
    assert missing.returncode != 0
    assert read_events(tmp_path / "source")[-1]["code"] == "resume_failed"

    # init_from: a new run starts from the adapter weights, at step 0.
    fresh = write_spec(tmp_path / "fresh", package, max_steps=2)
    spec = json.loads(fresh.read_text())
    spec["init_adapter"] = str(chosen)
    fresh.write_text(json.dumps(spec))
    warm = run_trainer(fresh)
    assert warm.returncode == 0, warm.stderr
    assert f"adapter weights initialised from {chosen}" in warm.stdout
    cold = write_spec(tmp_path / "cold", package, max_steps=2)
    assert run_trainer(cold).returncode == 0
    first = next(e for e in read_events(tmp_path / "fresh") if e["type"] == "progress")["loss"]
    untrained = next(e for e in read_events(tmp_path / "cold") if e["type"] == "progress")["loss"]
    assert first != untrained

    # An adapter of another shape is refused with the reason.
    other = write_spec(tmp_path / "other", package, max_steps=2, lora_rank=4)
    spec = json.loads(other.read_text())
    spec["init_adapter"] = str(chosen)
    other.write_text(json.dumps(spec))
    misfit = run_trainer(other)
    assert misfit.returncode != 0
    assert read_events(tmp_path / "other")[-1]["code"] == "init_failed"
