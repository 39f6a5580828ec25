"""The fine-tune learns what depends on the image and the words.

The pretrained tiny-vla base has seen red, green, blue and yellow blocks; here it is fine-tuned
with LoRA on a held-out variation (purple and orange blocks, which it never saw, beside blue).
Which block to reach, and so the sideways motion dx, is decided by the instruction together with
where the image shows that colour; the mean-action baseline cannot know it. The fine-tune must
beat that baseline by at least 2× on dx (and on dy), and shuffling the instructions across
episodes must make dx clearly worse, which shows the model reads the words.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import run_trainer, write_spec
from vlatune_trainer.models.base import base_directory

pytestmark = pytest.mark.skipif(
    not (base_directory() / "model.safetensors").exists(),
    reason="tiny-vla base missing (make tiny-base)",
)


def test_lora_on_unseen_colours_learns_the_image_and_instruction_dimensions(
    make_package: Callable[..., Path], tmp_path: Path
) -> None:
    package = make_package(
        episodes=60, steps=30, colours="purple,orange,blue", seed=7, val_fraction=0.2
    )
    spec = write_spec(
        tmp_path,
        package,
        max_steps=400,
        batch_size=32,
        lora_rank=16,
        learning_rate=2e-3,
        checkpoint_interval=1000,
        seed=0,
        data_workers=1,
    )
    result = run_trainer(spec, timeout=1200)
    assert result.returncode == 0, result.stdout + result.stderr
    metrics = json.loads((tmp_path / "output" / "metrics.json").read_text())
    val, shuffled = metrics["val"], metrics["val_shuffled_instructions"]
    model, baseline = val["l1_per_dim"], val["baseline_per_dim"]
    report = f"model {model[:2]}, baseline {baseline[:2]}, shuffled {shuffled['l1_per_dim'][:2]}"
    assert model[0] <= 0.5 * baseline[0], report
    assert model[1] <= 0.5 * baseline[1], report
    assert shuffled["l1_per_dim"][0] >= 1.3 * model[0], report
