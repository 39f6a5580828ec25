#!/usr/bin/env python3
"""The memory estimate's activation term for LeRobot policies against what their training step
really keeps for its backward pass, per sample — the calibration of ``LeRobotActivations``.

For each family it builds the checkpoint (``Tests/Fixtures/lerobot_checkpoints.py``: the tiny
ones of the tests, and with ``--full-size`` SmolVLA shaped as ``smolvla_base`` (451 M
parameters) and ACT (52 M) and diffusion (278 M) at LeRobot's default sizes, 96 px cameras), a
package of the sample dataset (two cameras, 8-dim state, 7-dim action), and the
policy as vlatune's trainer builds it (LoRA r8 on the family's default targets). It runs one
training forward at batch 1 and at batch 2 under the trainer's own meter
(``memory.SavedActivations``: the distinct storages autograd saves, parameters and buffers left
out — device-independent, a CUDA step saves the same tensors), once in fp32 and once under bf16
autocast on the CPU (what autocast keeps in bf16 is what it keeps on a GPU, up to the two
devices' op lists). Per sample = batch 2 − batch 1; fixed = batch 1 − per sample (under autocast:
the bf16 copies of frozen weights). Beside them, the same split of ``job start --dry-run
--json``'s ``activation_bytes``: on the CPU (fp32) and on one GPU (bf16 autocast). Temporaries
that live inside one operation are not saved tensors; a GPU's ``max_memory_allocated`` sees
them on top. Runs in ``.venv-lerobot``:

    .venv-lerobot/bin/python bench/lerobot_activations.py --binary .build/debug/vlatune \\
        [--families act,diffusion,smolvla,pi0,pi05,groot] [--full-size] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "Tests/Fixtures"), str(ROOT / "trainer"), str(ROOT / "trainer/tests")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from conftest import write_spec  # noqa: E402
from lerobot_checkpoints import make_checkpoint  # noqa: E402
from vlatune_trainer.memory import SavedActivations  # noqa: E402
from vlatune_trainer.models import lerobot_policy  # noqa: E402
from vlatune_trainer.package import Package, read_shard  # noqa: E402
from vlatune_trainer.spec import JobSpec  # noqa: E402

FAMILIES = "act,diffusion,smolvla,pi0,pi05,groot"
MIB = 2**20


def prepare_package(work: Path, binary: str, env: dict[str, str]) -> Path:
    """The sample dataset (two cameras), prepared without a validation split."""
    source = work / "source"
    subprocess.run(
        [sys.executable, str(ROOT / "examples/make_sample_dataset.py"), "--out", str(source)],
        check=True,
        capture_output=True,
    )
    command = [binary, "dataset", "prepare", str(source), "--name", "sample"]
    result = subprocess.run(
        [*command, "--val-fraction", "0", "--json"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return Path(json.loads(result.stdout)["path"])


def saved_bytes(built: lerobot_policy.LeRobotBuild, batch: dict) -> int:
    """What one training forward saves for backward (the trainer's own meter); the backward
    then runs, so nothing leaks into the next measurement."""
    saved = SavedActivations(built.action_model.model)
    with saved.measuring():
        loss = built.action_model.loss(batch, torch.device("cpu"))
    loss.backward()
    return saved.bytes


def measure(base: Path, package: Path, work: Path, options: dict, autocast: bool) -> list[int]:
    """Saved bytes at batch 1 and batch 2."""
    result = []
    for batch_size in (1, 2):
        spec = JobSpec.load(
            write_spec(work, package, base_model=str(base), batch_size=batch_size, **options)
        )
        torch.manual_seed(0)
        opened = Package(package)
        built = lerobot_policy.build_lerobot(
            spec.hyperparameters,
            str(base),
            opened,
            list(range(opened.state_dim)),
            torch.device("cpu"),
            autocast,
        )
        samples = list(read_shard(opened.shards("train")[0]))[:batch_size]
        batch = lerobot_policy.new_batcher(opened, built)(samples, random.Random(0))
        result.append(saved_bytes(built, batch))
    return result


def estimated(binary: str, base: Path, env: dict[str, str], options: dict, gpu: bool) -> list[int]:
    """``job start --dry-run --json``'s activation term at batch 1 and 2: on one GPU (bf16
    autocast, with the weight copies) or on the CPU (fp32)."""
    flags = [f"--tokenizer={options['tokenizer']}"] if "tokenizer" in options else []
    result = []
    for batch_size in (1, 2):
        command = [binary, "job", "start", "--base-model", str(base), "--dataset", "sample"]
        command += ["--batch-size", str(batch_size), "--gpus", "1" if gpu else "0"]
        done = subprocess.run(
            [*command, "--dry-run", "--json", *flags],
            capture_output=True,
            text=True,
            env=dict(env, VLATUNE_GPU_COUNT="1"),
        )
        if done.returncode != 0:
            raise SystemExit(f"job start --dry-run for {base} failed:\n{done.stdout}{done.stderr}")
        result.append(json.loads(done.stdout)["spec"]["memory_estimate"]["activation_bytes"])
    return result


def split(pair: list[int]) -> tuple[float, float]:
    """(per sample, fixed) in MiB from batch 1 and batch 2."""
    return (pair[1] - pair[0]) / MIB, (2 * pair[0] - pair[1]) / MIB


def row(name: str, base: Path, package: Path, work: Path, binary: str, env: dict) -> dict:
    options = {"tokenizer": str(base / "tokenizer")} if name.startswith("pi") else {}
    result: dict = {"family": name}
    for label, autocast in (("fp32", False), ("bf16", True)):
        measured = split(measure(base, package, work / f"spec-{name}", options, autocast))
        estimate = split(estimated(binary, base, env, options, gpu=autocast))
        result[label] = {
            "measured_per_sample_mb": measured[0],
            "measured_fixed_mb": measured[1],
            "estimated_per_sample_mb": estimate[0],
            "estimated_fixed_mb": estimate[1],
            "ratio_per_sample": estimate[0] / measured[0] if estimate[0] else None,
        }
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", default=str(ROOT / ".build/debug/vlatune"))
    parser.add_argument("--families", default=FAMILIES)
    parser.add_argument(
        "--full-size",
        action="store_true",
        help="also SmolVLA shaped as smolvla_base and ACT and diffusion at LeRobot's defaults",
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="vlatune-lerobot-activations-") as scratch:
        work = Path(scratch)
        env = dict(os.environ, VLATUNE_HOME=str(work / "home"), VLATUNE_PYTHON=sys.executable)
        package = prepare_package(work, args.binary, env)
        builds = [(name, {}) for name in args.families.split(",") if name]
        if args.full_size:
            builds.append(("smolvla", {"shape": "smolvlm2-500m", "image": 256}))
            builds.append(("act", {"shape": "lerobot-default", "image": 96}))
            builds.append(("diffusion", {"shape": "lerobot-default", "image": 96}))
        for name, shape in builds:
            label = f"{name} ({shape['shape']})" if shape else name
            base = work / f"base-{label.replace(' ', '')}"
            make_checkpoint(name, base, slots=("front", "wrist"), **shape)
            rows.append({**row(name, base, package, work, args.binary, env), "family": label})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    text = json.dumps(rows, indent=2) + "\n"
    if args.out:
        args.out.write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
