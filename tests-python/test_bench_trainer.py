"""The trainer benchmarks' GPU half, run where it can be here: the larger-configuration harness
(bench/trainer_memory.py) end to end through `vlatune job start` on CPU with the tiny LLaVA
checkpoint, and the table lines a GPU run prints, from results of the same shape."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))


def binary() -> Path:
    return Path(os.environ.get("VLATUNE_BINARY", ROOT / ".build" / "debug" / "vlatune"))


@pytest.fixture(scope="module")
def memory_result(tmp_path_factory: pytest.TempPathFactory) -> dict:
    pytest.importorskip("transformers")
    if not binary().exists():
        pytest.skip("the vlatune binary is not built (run make build)")
    work = tmp_path_factory.mktemp("bench")
    out = work / "result.json"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench/trainer_memory.py"),
            "--binary",
            str(binary()),
            "--work",
            str(work),
            "--size",
            "tiny",
            "--gpus",
            "0",
            "--steps",
            "12",
            "--batch-size",
            "4",
            "--lora-rank",
            "8",
            "--timeout",
            "600",
            "--keep-job",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads(out.read_text())


def test_the_larger_configuration_harness_runs_a_real_job(memory_result: dict) -> None:
    result = memory_result
    assert result["device"] == "cpu" and result["steps"] == 12 and result["lora_rank"] == 8
    assert 0 < result["trainable_parameters"] < result["parameters"]
    assert result["steps_per_second"] > 0
    estimate = result["estimate"]
    assert estimate["total_bytes"] > estimate["weight_bytes"] > 0
    assert estimate["overhead_bytes"] == 0  # no CUDA context on CPU
    assert result["estimate_without_overhead_bytes"] == estimate["total_bytes"]
    # No GPU, so nothing to compare the estimate with.
    assert result["peak_allocated_bytes"] is None and result["peak_over_estimate"] is None
    assert result["peak_eval_bytes"] is None
    # The job trained at the checkpoint's own image size (32 px), not a fixed 224.
    jobs = Path(result["job_home"]) / "jobs" / result["job"]
    described = json.loads((jobs / "output" / "adapter" / "model_config.json").read_text())
    assert described["image_size"] == 32


def test_the_gpu_table_lines(memory_result: dict) -> None:
    import run

    gpu = {
        **memory_result,
        "device": "cuda",
        "peak_allocated_bytes": 3 * 2**30,
        "peak_reserved_bytes": 4 * 2**30,
        "estimate": {**memory_result["estimate"], "overhead_bytes": 2**29},
        "estimate_without_overhead_bytes": 6 * 2**30,
        "peak_over_estimate": 0.5,
    }
    tiny = {
        "workers": 4,
        "steps_per_second_shards": 120.0,
        "pipeline_efficiency": 0.97,
        "step_ms_in_memory": 8.0,
    }
    rows = run.gpu_rows({"trainer_gpu": [tiny], "trainer_memory": gpu})
    assert [name for name, _, _ in rows] == [
        "tiny-vla GPU steps/s, 4 worker(s)",
        f"{memory_result['parameters'] / 1e9:.2f} B LLaVA-class GPU steps/s",
        "  peak GPU memory (allocated)",
    ]
    assert rows[0][1] == "120.0" and "efficiency 0.97" in rows[0][2]
    assert rows[2][1] == "3.00 GiB"
    assert "estimate 6.00 GiB without its 0.5 GiB context (0.50x)" in rows[2][2]
    assert "reserved 4.00 GiB" in rows[2][2]
    assert run.gpu_rows({"torch": "torch 2.13.0+cpu, CUDA none"}) == [
        (
            "GPU trainer runs",
            "none",
            "the trainer's torch (torch 2.13.0+cpu, CUDA none) sees no CUDA device: "
            "tiny-vla on GPU and the larger configuration not run",
        )
    ]
    failed = run.gpu_rows({"trainer_gpu_error": ["job start exited 69: estimate over memory"]})
    assert failed == [("GPU trainer runs", "failed", "job start exited 69: estimate over memory")]


@pytest.mark.parametrize("base", ["tiny-vla", "llava-tiny"])
def test_the_throughput_harness_runs_both_model_kinds(memory_result: dict, base: str) -> None:
    work = Path(memory_result["job_home"]).parent
    package = Path(memory_result["job_home"]) / "datasets" / (work / "id").read_text().strip()
    base_model = base if base == "tiny-vla" else str(work.parent / "llava-tiny")
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench/trainer_throughput.py"),
            str(package),
            "--steps",
            "4",
            "--rounds",
            "2",
            "--batch-size",
            "8",
            "--base-model",
            base_model,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["base_model"] == base_model and result["device"] == "cpu"
    assert result["steps_per_second_shards"] > 0 and result["steps_per_second_in_memory"] > 0
    assert result["pipeline_efficiency"] == pytest.approx(
        result["steps_per_second_shards"] / result["steps_per_second_in_memory"]
    )
    assert result["data_cpu_ms_per_batch"] > 0
