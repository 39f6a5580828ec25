#!/usr/bin/env python3
"""vlatune's trainer against ``lerobot-train`` on CPU: the same SmolVLA, data and LoRA, one script.

Builds a random-weight SmolVLA shaped as LeRobot's ``smolvla_base`` (SmolVLM2-500M's backbone:
SmolLM2-360M text model cut to 16 of its 32 layers, SigLIP B/16 at 512 px; action expert at 0.75
width, chunk 50; 451 M parameters) with its pre/post processors, a LeRobot v3.0 dataset
(``Tests/Fixtures/make_lerobot_dataset.py``: 4 episodes of 60 frames, one 256 px camera stored as
PNG, 8-dim state, 7-dim action) and that dataset's vlatune package (``--val-fraction 0``: no
validation, as ``lerobot-train`` has none). For each batch size both tools train the same number of
steps from the same checkpoint: LoRA r16, alpha 16, no dropout, on LeRobot's default SmolVLA
targets (the same 742 656 parameters), one data worker, torch's default threads, no checkpoint
before the end.

- vlatune: ``vlatune job start --gpus 0 --wait`` (the detached trainer, in this environment). Step
  times are the gaps between its ``progress`` events (one a step here); peak RSS is the
  ``completed`` event's ``peak_rss_bytes``; time to first step runs from invoking ``job start`` to
  the step-1 event.
- ``lerobot-train`` (LeRobot 0.6.1) ``--policy.path … --peft.method_type=LORA --peft.r=16
  --peft.lora_alpha=16 --log_freq=1``: step times are the gaps between the arrival of its
  ``step:N`` log lines; peak RSS is ``/usr/bin/time``'s (the process and the workers it
  reaped); time to first step runs from starting the process to step 1's line.

samples/s = batch size / the median step time over steps 3…N (the first two warm up), then the
median over ``--rounds`` runs of each tool, alternating which goes first (this VM's speed drifts
within minutes). The ratio vlatune ÷ lerobot-train is the number to compare across machines.
``--device cuda`` runs both on the GPU in bf16 autocast (vlatune ``--gpus 1``, whose precision
``auto`` is bf16 there; ``lerobot-train --policy.device=cuda`` with Accelerate's mixed precision
set to bf16 through ``ACCELERATE_MIXED_PRECISION``, since SmolVLA's ``use_amp`` would pick
fp16) and adds each tool's peak GPU memory: vlatune's ``completed`` event's
``peak_gpu_memory_bytes`` (``max_memory_allocated`` over the training steps), and
``lerobot-train``'s ``max_memory_allocated`` at its exit (it runs in a wrapper that prints it);
and the job's memory estimate (``spec.json`` ``memory_estimate``, less its CUDA-context
allowance, which ``max_memory_allocated`` does not see) with vlatune's peak over it. Runs in
``.venv-lerobot``:

    .venv-lerobot/bin/python bench/lerobot_train.py --binary .build/release/vlatune \\
        [--batch-sizes 1,4] [--steps 10] [--rounds 2] [--device cpu|cuda] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "Tests/Fixtures"
LEROBOT_TRAIN = Path(sys.executable).with_name("lerobot-train")
STEP_LINE = re.compile(r"\bstep:(\d+) smpl:")
RSS_LINE = re.compile(r"^PEAK_RSS_KB (\d+)$", re.MULTILINE)
GPU_LINE = re.compile(r"^PEAK_GPU_BYTES (\d+)$", re.MULTILINE)
LEROBOT_TRAIN_WITH_PEAK = """\
import atexit, sys, torch
from lerobot.scripts.lerobot_train import main
peak = [0]
reset = torch.cuda.reset_peak_memory_stats
def keep_then_reset(*args, **options):
    peak[0] = max(peak[0], torch.cuda.max_memory_allocated())
    reset(*args, **options)
torch.cuda.reset_peak_memory_stats = keep_then_reset
def report():
    print("PEAK_GPU_BYTES", max(peak[0], torch.cuda.max_memory_allocated()), flush=True)
atexit.register(report)
sys.argv[0] = "lerobot-train"
sys.exit(main())
"""
"""``lerobot-train`` in-process, printing its peak GPU memory over the whole run when it exits
(it resets the peak counter at every update step; the wrapper keeps the largest before each
reset)."""
WARMUP_STEPS = 2


def steady_samples_per_second(times: dict[int, float], batch_size: int) -> tuple[float, float]:
    """(samples/s, median step seconds) from the times steps ended, past the warm-up."""
    gaps = [times[s] - times[s - 1] for s in sorted(times) if s > WARMUP_STEPS and s - 1 in times]
    if not gaps:
        raise SystemExit(f"too few steps to measure: {sorted(times)} (pass --steps ≥ 4)")
    median = statistics.median(gaps)
    return batch_size / median, median


def median_run(runs: list[dict]) -> dict:
    """Each measurement's median over the rounds."""
    keys = (
        "samples_per_second",
        "step_seconds_median",
        "first_step_seconds",
        "peak_rss_mb",
        "peak_gpu_memory_mb",
        "estimate_mb",
    )
    return {key: statistics.median(run[key] for run in runs) for key in keys if key in runs[0]}


def build_inputs(work: Path, binary: str) -> tuple[Path, Path, dict[str, str]]:
    """The checkpoint, the LeRobot dataset, and the environment with its vlatune package."""
    checkpoint, dataset = work / "smolvla", work / "dataset"
    subprocess.run(
        [
            sys.executable,
            str(FIXTURES / "lerobot_checkpoints.py"),
            "--family",
            "smolvla",
            "--shape",
            "smolvlm2-500m",
            "--image",
            "256",
            "--processors",
            "--out",
            str(checkpoint),
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            sys.executable,
            str(FIXTURES / "make_lerobot_dataset.py"),
            "--out",
            str(dataset),
            "--version",
            "v3.0",
            "--episodes",
            "4",
            "--steps-min",
            "60",
            "--steps-max",
            "60",
            "--cameras",
            "image",
            "--camera-keys",
            "observation.images.front",
            "--image-size",
            "256x256",
            "--action-dim",
            "7",
            "--state-dim",
            "8",
        ],
        check=True,
        capture_output=True,
    )
    env = dict(
        os.environ,
        VLATUNE_HOME=str(work / "home"),
        VLATUNE_PYTHON=sys.executable,
        HF_HUB_OFFLINE="1",
        HF_LEROBOT_HOME=str(work / "lerobot-home"),
    )
    subprocess.run(
        [binary, "dataset", "prepare", str(dataset), "--name", "bench", "--val-fraction", "0"],
        check=True,
        capture_output=True,
        env=env,
    )
    return checkpoint, dataset, env


def run_vlatune(
    binary: str, checkpoint: Path, env: dict[str, str], batch: int, steps: int, cuda: bool
) -> dict:
    started = time.time()
    result = subprocess.run(
        [
            binary,
            "job",
            "start",
            "--base-model",
            str(checkpoint),
            "--dataset",
            "bench",
            "--max-steps",
            str(steps),
            "--batch-size",
            str(batch),
            "--lora-rank",
            "16",
            "--lora-alpha",
            "16",
            "--lora-dropout",
            "0",
            "--gpus",
            "1" if cuda else "0",
            "--data-workers",
            "1",
            "--checkpoint-interval",
            str(steps),
            "--wait",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    if result.returncode != 0:
        raise SystemExit(
            f"vlatune job start failed ({result.returncode}):\n{result.stderr[-3000:]}"
        )
    job = json.loads(result.stdout)["id"]
    lines = (Path(env["VLATUNE_HOME"]) / "jobs" / job / "events.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    times = {e["step"]: e["time"] for e in events if e["type"] == "progress"}
    completed = events[-1]
    if completed["type"] != "completed" or sorted(times) != list(range(1, steps + 1)):
        raise SystemExit(f"vlatune job {job}: expected a progress event a step, then completed")
    samples, median = steady_samples_per_second(times, batch)
    run = {
        "job": job,
        "samples_per_second": samples,
        "step_seconds_median": median,
        "first_step_seconds": times[1] - started,
        "peak_rss_mb": completed["peak_rss_bytes"] / 2**20,
    }
    if cuda:
        spec = json.loads((Path(env["VLATUNE_HOME"]) / "jobs" / job / "spec.json").read_text())
        estimate = spec["memory_estimate"]
        run["peak_gpu_memory_mb"] = completed["peak_gpu_memory_bytes"] / 2**20
        run["estimate_mb"] = (estimate["total_bytes"] - estimate["overhead_bytes"]) / 2**20
    return run


def run_lerobot_train(
    checkpoint: Path,
    dataset: Path,
    env: dict[str, str],
    work: Path,
    batch: int,
    steps: int,
    cuda: bool,
) -> dict:
    out = work / f"lerobot-train-b{batch}"
    shutil.rmtree(out, ignore_errors=True)
    command = [
        "/usr/bin/time",
        "-f",
        "PEAK_RSS_KB %M",
        *([sys.executable, "-c", LEROBOT_TRAIN_WITH_PEAK] if cuda else [str(LEROBOT_TRAIN)]),
        f"--policy.path={checkpoint}",
        f"--policy.device={'cuda' if cuda else 'cpu'}",
        "--policy.push_to_hub=false",
        "--dataset.repo_id=local/bench",
        f"--dataset.root={dataset}",
        f"--batch_size={batch}",
        f"--steps={steps}",
        "--log_freq=1",
        f"--save_freq={steps}",
        "--save_checkpoint=false",
        "--num_workers=1",
        "--wandb.enable=false",
        "--peft.method_type=LORA",
        "--peft.r=16",
        "--peft.lora_alpha=16",
        f"--output_dir={out}",
    ]
    started = time.time()
    if cuda:
        env = dict(env, ACCELERATE_MIXED_PRECISION="bf16")
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True
    )
    assert process.stdout is not None
    times: dict[int, float] = {}
    log: list[str] = []
    for line in process.stdout:
        now = time.time()
        log.append(line)
        match = STEP_LINE.search(line)
        if match:
            times.setdefault(int(match.group(1)), now)
    if process.wait() != 0 or sorted(times) != list(range(1, steps + 1)):
        raise SystemExit(f"lerobot-train failed ({process.returncode}):\n{''.join(log)[-3000:]}")
    rss = RSS_LINE.search("".join(log))
    samples, median = steady_samples_per_second(times, batch)
    run = {
        "samples_per_second": samples,
        "step_seconds_median": median,
        "first_step_seconds": times[1] - started,
        "peak_rss_mb": int(rss.group(1)) / 1024 if rss else float("nan"),
    }
    if cuda:
        peak = GPU_LINE.search("".join(log))
        run["peak_gpu_memory_mb"] = int(peak.group(1)) / 2**20 if peak else float("nan")
    return run


def torch_sees_cuda() -> bool:
    """Whether this environment's torch has a CUDA device (asked in a child, so this process
    never initializes CUDA before the tools it times)."""
    probe = "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", default=str(ROOT / ".build/release/vlatune"))
    parser.add_argument("--batch-sizes", default="1,4")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    cuda = args.device == "cuda"
    if args.steps < WARMUP_STEPS + 2:
        parser.error(f"--steps must be at least {WARMUP_STEPS + 2}")
    if not LEROBOT_TRAIN.exists():
        parser.error(f"{LEROBOT_TRAIN} is missing: run this in .venv-lerobot (make venv-lerobot)")
    if cuda and not torch_sees_cuda():
        parser.error("--device cuda: this environment's torch sees no CUDA device")
    rows = []
    with tempfile.TemporaryDirectory(prefix="vlatune-lerobot-train-") as scratch:
        work = Path(scratch)
        checkpoint, dataset, env = build_inputs(work, args.binary)
        for batch in (int(b) for b in args.batch_sizes.split(",")):
            runs: dict[str, list[dict]] = {"vlatune": [], "lerobot_train": []}
            for round_ in range(args.rounds):
                order = ["lerobot_train", "vlatune"][:: 1 if round_ % 2 == 0 else -1]
                for tool in order:
                    if tool == "vlatune":
                        run = run_vlatune(args.binary, checkpoint, env, batch, args.steps, cuda)
                    else:
                        run = run_lerobot_train(
                            checkpoint, dataset, env, work, batch, args.steps, cuda
                        )
                    runs[tool].append(run)
                    print(json.dumps({"batch_size": batch, tool: run}), file=sys.stderr, flush=True)
            ours, theirs = median_run(runs["vlatune"]), median_run(runs["lerobot_train"])
            row = {
                "batch_size": batch,
                "steps": args.steps,
                "rounds": args.rounds,
                "device": args.device,
                "vlatune": ours,
                "lerobot_train": theirs,
                "ratio_samples_per_second": ours["samples_per_second"]
                / theirs["samples_per_second"],
            }
            if cuda:
                row["ratio_peak_gpu_memory"] = (
                    ours["peak_gpu_memory_mb"] / theirs["peak_gpu_memory_mb"]
                )
                row["ratio_peak_to_estimate"] = ours["peak_gpu_memory_mb"] / ours["estimate_mb"]
            rows.append({**row, "runs": runs})
    text = json.dumps(rows, indent=2) + "\n"
    if args.out:
        args.out.write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
