#!/usr/bin/env python3
"""The larger configuration: a LLaVA-class checkpoint (random weights, made here by
Tests/Fixtures/make_llava_checkpoint.py; ``large`` is ~0.54 B parameters) LoRA-fine-tuned by
the real trainer through ``vlatune job start``. Reports the trainer's training steps/s (its
``completed`` event: steps after the first, evaluation and checkpoints left out) and its peak
GPU memory against the estimate ``job start`` made before starting it (``spec.json``
``memory_estimate``).

    python bench/trainer_memory.py --binary .build/release/vlatune --out FILE
        [--size large|tiny] [--gpus 1] [--steps 200] [--batch-size 16] [--lora-rank 32]

The peak compared is what tensors held at most during training steps
(``torch.cuda.max_memory_allocated``, evaluation at batch 64 kept apart) against the estimate
without its fixed allowance for the CUDA context; evaluation's peak and what the caching
allocator reserved are reported beside it. The job's checkpoints and output are deleted once
read, unless ``--keep-job``. With ``--gpus 0`` the same runs on CPU, where there is no GPU
peak to compare (the benchmark's own test runs it that way with ``--size tiny``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from sample_package import prepared_sample

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".build-bench"
sys.path.insert(0, str(ROOT / "Tests" / "Fixtures"))

from make_llava_checkpoint import SIZES, build_checkpoint  # noqa: E402


def checkpoint(work: Path, size: str) -> Path:
    """The checkpoint of ``size`` under ``work``, built once (into a temporary directory that
    is renamed when complete, so an interrupted build is not reused)."""
    directory = work / f"llava-{size}"
    if not (directory / "config.json").exists():
        partial = work / f"llava-{size}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        build_checkpoint(partial, SIZES[size])
        shutil.rmtree(directory, ignore_errors=True)
        partial.rename(directory)
    return directory


def vlatune(binary: str, env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([binary, *arguments], env=env, capture_output=True, text=True)


def run(
    binary: str,
    work: Path,
    size: str,
    gpus: int,
    steps: int,
    batch_size: int,
    lora_rank: int,
    timeout: int,
    keep_job: bool = False,
) -> dict:
    home, dataset = prepared_sample(binary, work / "trainer")
    base = checkpoint(work, size)
    env = dict(os.environ, VLATUNE_HOME=str(home), VLATUNE_PYTHON=sys.executable)
    started = vlatune(
        binary,
        env,
        "job",
        "start",
        "--base-model",
        str(base),
        "--dataset",
        dataset,
        "--gpus",
        str(gpus),
        "--max-steps",
        str(steps),
        "--batch-size",
        str(batch_size),
        "--lora-rank",
        str(lora_rank),
        "--checkpoint-interval",
        str(steps),
        "--seed",
        "0",
        "--name",
        f"bench-llava-{size}",
        "--json",
    )
    if started.returncode != 0:
        raise SystemExit(f"job start exited {started.returncode}: {started.stderr.strip()}")
    job = json.loads(started.stdout)
    waited = vlatune(binary, env, "job", "wait", job["id"], "--timeout", str(timeout), "--json")
    if waited.returncode != 0:
        logs = vlatune(binary, env, "job", "logs", job["id"], "--tail", "40")
        raise SystemExit(
            f"job {job['id']} ended with exit {waited.returncode}:\n{waited.stdout}\n{logs.stdout}"
        )
    job_dir = Path(job["job_dir"])
    spec = json.loads((job_dir / "spec.json").read_text())
    events = [json.loads(line) for line in (job_dir / "events.jsonl").read_text().splitlines()]
    first = next(e for e in events if e["type"] == "started")
    completed = next(e for e in events if e["type"] == "completed")
    estimate = spec["memory_estimate"]
    modelled = estimate["total_bytes"] - estimate["overhead_bytes"]
    peak = completed.get("peak_gpu_memory_bytes")
    rate = completed["steps_per_second"]  # null when the job ran fewer than 2 steps
    if not keep_job:
        for heavy in ("checkpoints", "output"):  # optimizer state, adapters: ~0.4 GB for large
            shutil.rmtree(job_dir / heavy, ignore_errors=True)
    return {
        "size": size,
        "device": "cuda" if gpus else "cpu",
        "gpus": gpus,
        "steps": steps,
        "batch_size": batch_size,
        "lora_rank": lora_rank,
        "parameters": first["total_parameters"],
        "trainable_parameters": first["trainable_parameters"],
        "steps_per_second": rate,
        "samples_per_second": None if rate is None else rate * batch_size * max(gpus, 1),
        "peak_allocated_bytes": peak,
        "peak_eval_bytes": completed.get("peak_gpu_memory_eval_bytes"),
        "peak_reserved_bytes": completed.get("peak_gpu_memory_reserved_bytes"),
        "estimate": estimate,
        "estimate_without_overhead_bytes": modelled,
        "peak_over_estimate": peak / modelled if peak is not None else None,
        "job": job["id"],
        "job_home": str(home),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--binary", default=str(ROOT / ".build/release/vlatune"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--size", choices=sorted(SIZES), default="large")
    parser.add_argument("--gpus", type=int, default=1)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lora-rank", type=int, default=32)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds to wait for the job")
    parser.add_argument(
        "--keep-job",
        action="store_true",
        help="keep the job's checkpoints and output (deleted once read, by default)",
    )
    args = parser.parse_args()
    result = run(
        args.binary,
        args.work,
        args.size,
        args.gpus,
        args.steps,
        args.batch_size,
        args.lora_rank,
        args.timeout,
        args.keep_job,
    )
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
