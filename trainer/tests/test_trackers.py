"""Experiment trackers on real runs of the trainer: TensorBoard event files read back with
TensorBoard's own reader, a real ``mlflow server`` on loopback, and W&B in offline mode."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import read_events, run_trainer, sigterm_once_started, write_spec
from vlatune_trainer.models.base import base_directory

pytestmark = pytest.mark.skipif(
    not (base_directory() / "model.safetensors").exists(),
    reason="tiny-vla base missing (make tiny-base)",
)


def scalars(directory: Path, tag: str) -> dict[int, float]:
    """A scalar series as TensorBoard reads it (its event accumulator)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(directory), size_guidance={"scalars": 0})
    accumulator.Reload()
    return {event.step: event.value for event in accumulator.Scalars(tag)}


def test_tensorboard_files_hold_every_progress_and_eval_scalar(
    make_package: Callable[..., Path], tmp_path: Path
) -> None:
    pytest.importorskip("tensorboard")
    package = make_package()
    spec = write_spec(tmp_path / "run", package, max_steps=8, checkpoint_interval=4)
    assert run_trainer(spec).returncode == 0
    events = read_events(tmp_path / "run")
    progress = {e["step"]: e for e in events if e["type"] == "progress"}
    losses = scalars(tmp_path / "run" / "tb", "train/loss")
    assert sorted(losses) == sorted(progress)
    for step, value in losses.items():
        assert math.isclose(value, progress[step]["loss"], rel_tol=1e-6)
    norms = scalars(tmp_path / "run" / "tb", "train/grad_norm")
    assert all(math.isclose(norms[s], progress[s]["grad_norm"], rel_tol=1e-6) for s in norms)
    evals = [e for e in events if e["type"] == "eval"]
    l1 = scalars(tmp_path / "run" / "tb", "eval/val_l1")
    assert l1[evals[-1]["step"]] == pytest.approx(evals[-1]["val_l1"], rel=1e-6)


def test_a_resumed_run_continues_one_tensorboard_curve(
    make_package: Callable[..., Path], tmp_path: Path
) -> None:
    pytest.importorskip("tensorboard")
    package = make_package()
    spec = write_spec(tmp_path / "run", package, max_steps=30, checkpoint_interval=100)
    stopped = sigterm_once_started(spec)[-1]["step"]
    assert run_trainer(spec, "--resume").returncode == 0
    losses = scalars(tmp_path / "run" / "tb", "train/loss")
    # One point per step: the first attempt's up to the checkpoint, the resumed attempt's after.
    assert sorted(losses) == list(range(1, 31))
    events = read_events(tmp_path / "run")
    resumed = {e["step"]: e["loss"] for e in events if e["type"] == "progress"}
    assert losses[30] == pytest.approx(resumed[30], rel=1e-6)
    assert stopped < 30


def run_with_tracker(
    package: Path, directory: Path, tracker: str, env: dict[str, str], **hyper: object
) -> subprocess.CompletedProcess[str]:
    """The trainer on a spec with ``tracker`` set, in ``env`` (run_trainer uses os.environ)."""
    spec_path = write_spec(directory, package, **hyper)
    spec = json.loads(spec_path.read_text())
    spec["tracker"] = tracker
    spec_path.write_text(json.dumps(spec))
    return subprocess.run(
        [sys.executable, "-m", "vlatune_trainer", "--spec", str(spec_path)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[str]:
    pytest.importorskip("mlflow")
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'mlflow.db'}",
            "--artifacts-destination",
            str(tmp_path / "artifacts"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        assert server.poll() is None, "mlflow server exited"
        assert time.monotonic() < deadline, "mlflow server did not answer /health in 120 s"
        time.sleep(0.2)
    yield uri
    os.killpg(server.pid, 15)
    server.wait(timeout=30)


def test_mlflow_run_has_params_metrics_and_the_adapter(
    make_package: Callable[..., Path], tmp_path: Path, mlflow_server: str
) -> None:
    from mlflow.tracking import MlflowClient

    env = dict(os.environ, MLFLOW_TRACKING_URI=mlflow_server)
    result = run_with_tracker(
        make_package(), tmp_path / "run", "mlflow", env, max_steps=6, checkpoint_interval=3
    )
    assert result.returncode == 0, result.stderr
    run_id = (tmp_path / "run" / "mlflow_run_id").read_text().strip()
    client = MlflowClient(tracking_uri=mlflow_server)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["lora_rank"] == "8"
    assert run.data.tags["vlatune.job_id"] == "job_test"
    history = client.get_metric_history(run_id, "train/loss")
    progress = [e for e in read_events(tmp_path / "run") if e["type"] == "progress"]
    assert [m.step for m in history] == [e["step"] for e in progress]
    assert all(
        math.isclose(m.value, e["loss"], rel_tol=1e-6)
        for m, e in zip(history, progress, strict=True)
    )
    assert client.get_metric_history(run_id, "eval/val_l1")
    artifacts = {a.path for a in client.list_artifacts(run_id, "adapter")}
    assert "adapter/adapter_model.safetensors" in artifacts


def test_mlflow_without_a_tracking_uri_fails_clearly(
    make_package: Callable[..., Path], tmp_path: Path
) -> None:
    pytest.importorskip("mlflow")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    result = run_with_tracker(make_package(), tmp_path / "run", "mlflow", env, max_steps=2)
    assert result.returncode != 0
    failed = read_events(tmp_path / "run")[-1]
    assert failed["code"] == "tracker_failed" and "MLFLOW_TRACKING_URI" in failed["message"]


def test_wandb_writes_an_offline_run(make_package: Callable[..., Path], tmp_path: Path) -> None:
    pytest.importorskip("wandb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    result = run_with_tracker(make_package(), tmp_path / "run", "wandb", env, max_steps=4)
    assert result.returncode == 0, result.stderr
    runs = list((tmp_path / "run" / "wandb").glob("offline-run-*-job_test"))
    assert len(runs) == 1, list((tmp_path / "run").rglob("*"))[:20]
    # The run's transaction log (what `wandb sync` uploads) holds the config and the series.
    log = (runs[0] / "run-job_test.wandb").read_bytes()
    assert log.startswith(b":W&B")
    for key in (b"lora_rank", b"train/loss", b"train/grad_norm", b"eval/val_l1"):
        assert key in log, key
