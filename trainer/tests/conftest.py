"""Fixtures: real dataset packages made by the vlatune binary from the example generator."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "examples" / "make_sample_dataset.py"
# Fixture builders shared with the benchmarks (make_llava_checkpoint).
sys.path.insert(0, str(ROOT / "Tests" / "Fixtures"))


def vlatune_binary() -> Path:
    return Path(os.environ.get("VLATUNE_BINARY", ROOT / ".build" / "debug" / "vlatune"))


@pytest.fixture(scope="session")
def make_package(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Generates episodes and prepares them; returns the package directory."""
    if not vlatune_binary().exists():
        pytest.skip("the vlatune binary is not built (run make build)")
    cache: dict[tuple, Path] = {}

    def make(
        episodes: int = 8,
        steps: int = 12,
        colours: str = "red,green,blue",
        seed: int = 0,
        val_fraction: float = 0.25,
        blocks: int = 3,
    ) -> Path:
        key = (episodes, steps, colours, seed, val_fraction, blocks)
        if key in cache:
            return cache[key]
        root = tmp_path_factory.mktemp("package")
        subprocess.run(
            [
                sys.executable,
                str(GENERATOR),
                "--out",
                str(root / "source"),
                "--episodes",
                str(episodes),
                "--steps",
                str(steps),
                "--colours",
                colours,
                "--seed",
                str(seed),
                "--blocks",
                str(blocks),
            ],
            check=True,
            capture_output=True,
        )
        env = dict(os.environ, VLATUNE_HOME=str(root / "home"))
        result = subprocess.run(
            [
                str(vlatune_binary()),
                "dataset",
                "prepare",
                str(root / "source"),
                "--name",
                "sample",
                "--val-fraction",
                str(val_fraction),
                "--json",
            ],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
        cache[key] = Path(json.loads(result.stdout)["path"])
        return cache[key]

    return make


def write_spec(
    directory: Path, package: Path, base_model: str = "tiny-vla", **hyper: object
) -> Path:
    """A spec.json as vlatune's job start writes it."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((package / "manifest.json").read_text())
    hyperparameters = {
        "lora_rank": 8,
        "lora_alpha": 16,
        "lora_dropout": 0.0,
        "learning_rate": 1e-3,
        "batch_size": 16,
        "grad_accum": 1,
        "effective_batch_size": 16,
        "max_steps": 20,
        "seed": 3,
        "action_chunk": 4,
        "image_size": None,
        "precision": "auto",
        "checkpoint_interval": 10,
        "target_modules": ["all-linear"],
        "proprio": "all",
        "lr_schedule": "cosine",
        "data_workers": 0,
        "gradient_checkpointing": False,
        "trust_remote_code": False,
    }
    hyperparameters.update(hyper)
    spec = {
        "schema_version": 1,
        "job_id": "job_test",
        "base_model": base_model,
        "gpus": 0,
        "executor": "local",
        "created_at": "2026-11-24T00:00:00.000Z",
        "dataset": {
            "id": manifest["id"],
            "name": manifest["name"],
            "path": str(package),
            "fingerprint": manifest["fingerprint"],
            "statistics": str(package / "dataset_statistics.json"),
        },
        "hyperparameters": hyperparameters,
        "job_dir": str(directory),
        "output_dir": str(directory / "output"),
        "checkpoints_dir": str(directory / "checkpoints"),
        "events_path": str(directory / "events.jsonl"),
        "trainer": {"argv": [], "environment": {}},
        "metadata": {},
        "max_running_jobs": 2,
    }
    path = directory / "spec.json"
    path.write_text(json.dumps(spec, indent=2))
    return path


def run_trainer(spec: Path, *extra: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``python -m vlatune_trainer --spec SPEC`` as the watcher runs it, to completion."""
    return subprocess.run(
        [sys.executable, "-m", "vlatune_trainer", "--spec", str(spec), *extra],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def read_events(directory: Path) -> list[dict]:
    path = directory / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def sigterm_once_started(spec: Path, timeout: float = 300) -> list[dict]:
    """Runs the trainer on ``spec`` and sends SIGTERM to its whole process group (DataLoader
    workers included, as the watcher sends it) as soon as ``started`` is written; returns the
    events after it exited 0. The run stops after the step in progress."""
    directory = spec.parent
    process = subprocess.Popen(
        [sys.executable, "-m", "vlatune_trainer", "--spec", str(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.time() + timeout
    while not any(e["type"] == "started" for e in read_events(directory)):
        assert time.time() < deadline and process.poll() is None
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGTERM)
    assert process.wait(timeout=120) == 0
    return read_events(directory)
