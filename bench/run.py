#!/usr/bin/env python3
"""`make bench`: measure vlatune against baselines run in the same script, on generated data.

Prints a table and writes bench/results/<UTC time>.json. Ratios against baselines measured in the
same run are the numbers to compare across machines; absolute times drift.

    python bench/run.py --binary .build/release/vlatune [--quick]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sample_package import prepared_sample

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
WORK = ROOT / ".build-bench"


def timed(
    command: list[str] | str, env: dict[str, str] | None = None, shell: bool = False
) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, shell=shell, check=True, capture_output=True)
    return time.perf_counter() - start


def peak_rss_mb(command: list[str], env: dict[str, str]) -> float:
    result = subprocess.run(
        ["/usr/bin/time", "-v", *command], env=env, capture_output=True, text=True, check=True
    )
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    return int(match.group(1)) / 1024 if match else float("nan")


def directory_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def generate(out: Path, episodes: int) -> None:
    if out.exists():
        return
    subprocess.run(
        [
            PYTHON,
            str(ROOT / "examples/make_sample_dataset.py"),
            "--out",
            str(out),
            "--episodes",
            str(episodes),
            "--steps",
            "50",
            "--image-size",
            "224",
            "--texture",
            "0.5",
            "--seed",
            "11",
        ],
        check=True,
        capture_output=True,
    )


def replicate(source: Path, out: Path, copies: int) -> None:
    """A larger dataset from hard links (no extra disk): `copies` renamed copies of each episode."""
    if out.exists():
        return
    out.mkdir(parents=True)
    for copy in range(copies):
        for episode in sorted(source.iterdir()):
            subprocess.run(
                ["cp", "-al", str(episode), str(out / f"{episode.name}-{copy}")], check=True
            )


def settle(source: Path) -> None:
    """Before each timed run: the source in the page cache, no write-back pending.

    Warm once is not enough here: the VM reclaims idle page cache (DAMON) within seconds, and
    the Python baseline leaves its 1 GB shard dirty, so the next run's reads and fsyncs would
    compete with the previous run's leftovers.
    """
    os.sync()
    subprocess.run(f"find {source} -type f -exec cat {{}} + > /dev/null", shell=True, check=True)


def median_run(run: Callable[[], float], runs: int) -> float:
    """One untimed warm-up, then the median of ``runs`` timed runs, each after ``settle``.

    Each tool gets its runs back to back: on this VM the first 1 GB written after a pause (or
    after another tool's run) is up to twice as slow while the host backs the freed memory again,
    whichever tool writes it; interleaving the tools charged that to all of them at random.
    """
    run()
    samples = []
    for _ in range(runs):
        samples.append(run())
    return statistics.median(samples)


def prepare(binary: str, source: Path, runs: int) -> dict:
    size = directory_bytes(source)

    def ours() -> float:
        # Outputs go under one long-lived folder (as a user's VLATUNE_HOME is), not to a new
        # top-level /tmp folder per run.
        home = Path(tempfile.mkdtemp(prefix="home-", dir=WORK))
        env = dict(os.environ, VLATUNE_HOME=str(home))
        settle(source)
        elapsed = timed(
            [binary, "dataset", "prepare", str(source), "--name", "bench", "--quiet"], env
        )
        shutil.rmtree(home)
        return elapsed

    def tar() -> float:
        settle(source)
        return timed(f"tar -cf - -C {source.parent} {source.name} | sha256sum", shell=True)

    def python() -> float:
        out = Path(tempfile.mkdtemp(prefix="python-", dir=WORK)) / "out"
        settle(source)
        elapsed = timed([PYTHON, str(ROOT / "bench/python_prepare.py"), str(source), str(out)])
        shutil.rmtree(out.parent)
        return elapsed

    medians = {"ours": median_run(ours, runs), "tar": median_run(tar, runs)}
    medians["python"] = median_run(python, runs)
    mb = size / 1e6
    result = {
        "input_mb": round(mb, 1),
        "vlatune_mb_s": mb / medians["ours"],
        "tar_sha256sum_mb_s": mb / medians["tar"],
        "python_mb_s": mb / medians["python"],
    }
    result["ratio_vs_tar_sha256sum"] = result["vlatune_mb_s"] / result["tar_sha256sum_mb_s"]
    result["ratio_vs_python"] = result["vlatune_mb_s"] / result["python_mb_s"]
    return result


def prepare_rss(binary: str, source: Path) -> dict:
    home = Path(tempfile.mkdtemp(prefix="vlatune-bench-home-"))
    env = dict(os.environ, VLATUNE_HOME=str(home))
    started = time.perf_counter()
    rss = peak_rss_mb([binary, "dataset", "prepare", str(source), "--name", "rss", "--quiet"], env)
    elapsed = time.perf_counter() - started
    shutil.rmtree(home)
    return {
        "input_mb": round(directory_bytes(source) / 1e6, 1),
        "peak_rss_mb": rss,
        "mb_s": directory_bytes(source) / 1e6 / elapsed,
    }


def limiter(binary: str) -> dict:
    micro = json.loads(
        subprocess.run(
            [binary, "__bench", "limiter", "2000"], check=True, capture_output=True, text=True
        ).stdout
    )
    home = Path(tempfile.mkdtemp(prefix="vlatune-bench-limit-"))
    subprocess.run(
        [
            PYTHON,
            str(ROOT / "examples/make_sample_dataset.py"),
            "--out",
            str(home / "src"),
            "--episodes",
            "4",
            "--steps",
            "12",
        ],
        check=True,
        capture_output=True,
    )
    (home / "policy.yaml").write_text(
        "version: 1\ntools:\n  start_finetune_job:\n"
        "    rules: [{rate_limit: {max: 10, window: 60}}]\n"
        "limits: {max_running_jobs: 64, max_queued_jobs: 64}\n"
    )
    fake = ROOT / "Tests/Fixtures/fake_trainer.py"
    env = dict(
        os.environ,
        VLATUNE_HOME=str(home / "home"),
        VLATUNE_POLICY=str(home / "policy.yaml"),
        VLATUNE_TRAINER=f"{PYTHON} {fake} --steps 1 --step-seconds 0",
    )
    subprocess.run(
        [binary, "dataset", "prepare", str(home / "src"), "--name", "d", "--quiet"],
        env=env,
        check=True,
        capture_output=True,
    )

    def start(_: int) -> int:
        return subprocess.run(
            [binary, "job", "start", "--base-model", "tiny-vla", "--dataset", "d", "--quiet"],
            env=env,
            capture_output=True,
            check=False,
        ).returncode

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(start, range(64)))
    return {
        "decision_median_us": micro["median_us"],
        "decision_p95_us": micro["p95_us"],
        "contention_admitted": codes.count(0),
        "contention_refused_75": codes.count(75),
        "contention_other": len(codes) - codes.count(0) - codes.count(75),
        "contention_seconds": time.perf_counter() - started,
    }


def trainer(binary: str, device: str, workers: int) -> dict:
    home, dataset = prepared_sample(binary, WORK / "trainer")
    package = home / "datasets" / dataset
    result = subprocess.run(
        [
            PYTHON,
            str(ROOT / "bench/trainer_throughput.py"),
            str(package),
            "--device",
            device,
            "--workers",
            str(workers),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def trainer_memory(binary: str) -> dict:
    """The larger configuration on the GPU: steps/s and peak memory against the estimate."""
    out = WORK / "trainer-memory.json"
    subprocess.run(
        [
            PYTHON,
            str(ROOT / "bench/trainer_memory.py"),
            "--binary",
            binary,
            "--size",
            "large",
            "--gpus",
            "1",
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return json.loads(out.read_text())


def gpu_rows(results: dict) -> list[tuple[str, str, str]]:
    """The table's GPU lines, or one line saying why there are none."""
    if "trainer_gpu_error" in results:
        return [("GPU trainer runs", "failed", results["trainer_gpu_error"][0][:160])]
    if "trainer_gpu" not in results:
        return [
            (
                "GPU trainer runs",
                "none",
                f"the trainer's torch ({results.get('torch', '?')}) sees no CUDA device: "
                "tiny-vla on GPU and the larger configuration not run",
            )
        ]
    rows = []
    for t in results["trainer_gpu"]:
        rows.append(
            (
                f"tiny-vla GPU steps/s, {t['workers']} worker(s)",
                f"{t['steps_per_second_shards']:.1f}",
                f"efficiency {t['pipeline_efficiency']:.2f} (target ≥ 0.95); "
                f"{t['step_ms_in_memory']:.1f} ms a step in memory",
            )
        )
    m = results["trainer_memory"]
    rows.append(
        (
            f"{m['parameters'] / 1e9:.2f} B LLaVA-class GPU steps/s",
            f"{m['steps_per_second']:.2f}",
            f"{m['samples_per_second']:.0f} samples/s, batch {m['batch_size']}, "
            f"LoRA r{m['lora_rank']}",
        )
    )
    rows.append(
        (
            "  peak GPU memory (allocated)",
            f"{m['peak_allocated_bytes'] / 2**30:.2f} GiB",
            f"estimate {m['estimate_without_overhead_bytes'] / 2**30:.2f} GiB without its "
            f"{m['estimate']['overhead_bytes'] / 2**30:.1f} GiB context "
            f"({m['peak_over_estimate']:.2f}x); "
            f"reserved {m['peak_reserved_bytes'] / 2**30:.2f} GiB",
        )
    )
    return rows


def cuda_probe(python: str | Path = PYTHON) -> tuple[bool, str]:
    """Whether the trainer's torch sees a CUDA device, and its version and CUDA build (a CPU
    wheel on a GPU machine sees none: docs/performance.md says how to install the CUDA one)."""
    probe = (
        "import torch; print(torch.cuda.is_available(), torch.__version__, "
        "torch.version.cuda or 'none')"
    )
    result = subprocess.run([str(python), "-c", probe], capture_output=True, text=True)
    if result.returncode != 0:
        return False, "torch not importable"
    available, version, build = result.stdout.split()
    return available == "True", f"torch {version}, CUDA {build}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--binary", default=str(ROOT / ".build/release/vlatune"))
    parser.add_argument("--quick", action="store_true", help="250 MB instead of 1 GB, no 4 GB run")
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    episodes = 80 if args.quick else 330
    one = WORK / f"data-{episodes}"
    generate(one, episodes)
    results: dict = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "time": datetime.datetime.now(datetime.UTC).isoformat(),
    }
    print("prepare throughput …", flush=True)
    results["prepare"] = prepare(args.binary, one, runs=3)
    results["prepare_rss"] = [prepare_rss(args.binary, one)]
    if not args.quick:
        four = WORK / "data-4x"
        replicate(one, four, 4)
        results["prepare_rss"].append(prepare_rss(args.binary, four))
    print("CLI latency …", flush=True)
    latency_file = WORK / "latency.json"
    subprocess.run(
        [
            PYTHON,
            str(ROOT / "bench/job_latency.py"),
            "--binary",
            args.binary,
            "--out",
            str(latency_file),
        ],
        check=True,
        capture_output=True,
    )
    results["latency"] = json.loads(latency_file.read_text())
    print("limiter …", flush=True)
    results["limiter"] = limiter(args.binary)
    print("trainer …", flush=True)
    results["trainer"] = trainer(args.binary, "cpu", 1)
    cuda, torch_build = cuda_probe()
    results["torch"] = torch_build
    if cuda:
        print("trainer on the GPU …", flush=True)
        try:
            results["trainer_gpu"] = [trainer(args.binary, "cuda", w) for w in (1, 4)]
            results["trainer_memory"] = trainer_memory(args.binary)
        except subprocess.CalledProcessError as error:
            # The CPU results still get their table; the reason is printed and kept.
            stderr = error.stderr or ""
            if isinstance(stderr, bytes):
                stderr = stderr.decode(errors="replace")
            tail = stderr[-4000:]
            print(tail, file=sys.stderr)
            results["trainer_gpu_error"] = tail.strip().splitlines()[-1:] or [str(error)]
            results.pop("trainer_gpu", None)
    print("LeRobot prepare …", flush=True)
    lerobot_file = WORK / "lerobot.json"
    subprocess.run(
        [
            PYTHON,
            str(ROOT / "bench/lerobot_prepare.py"),
            "--binary",
            args.binary,
            "--out",
            str(lerobot_file),
        ],
        check=True,
        capture_output=True,
    )
    results["lerobot"] = json.loads(lerobot_file.read_text())
    lerobot_python = ROOT / ".venv-lerobot/bin/python"
    if lerobot_python.exists():
        print("vlatune vs lerobot-train (SmolVLA, CPU) …", flush=True)
        versus = subprocess.run(
            [str(lerobot_python), str(ROOT / "bench/lerobot_train.py"), "--binary", args.binary],
            check=True,
            capture_output=True,
            text=True,
        )
        results["lerobot_train"] = json.loads(versus.stdout)
        if cuda_probe(lerobot_python)[0]:
            print("vlatune vs lerobot-train (SmolVLA, GPU, bf16, batch 32) …", flush=True)
            gpu = ["--binary", args.binary, "--device", "cuda", "--batch-sizes", "32"]
            versus = subprocess.run(
                [str(lerobot_python), str(ROOT / "bench/lerobot_train.py"), *gpu],
                check=True,
                capture_output=True,
                text=True,
            )
            results["lerobot_train"] += json.loads(versus.stdout)
        print("LeRobot activations: estimate vs what autograd saves …", flush=True)
        calibration = ["--binary", args.binary, "--full-size"]
        activations = subprocess.run(
            [str(lerobot_python), str(ROOT / "bench/lerobot_activations.py"), *calibration],
            check=True,
            capture_output=True,
            text=True,
        )
        results["lerobot_activations"] = json.loads(activations.stdout)
    print("simulator throughput …", flush=True)
    simulated = subprocess.run(
        [PYTHON, str(ROOT / "bench/sim_throughput.py")], check=True, capture_output=True, text=True
    )
    results["sim"] = json.loads(simulated.stdout.strip().splitlines()[-1])

    p = results["prepare"]
    rows = [
        (
            "prepare MB/s (vlatune)",
            f"{p['vlatune_mb_s']:.0f}",
            f"input {p['input_mb']} MB, median of 3",
        ),
        (
            "  vs tar-to-sha256sum pipe",
            f"{p['ratio_vs_tar_sha256sum']:.2f}x",
            f"{p['tar_sha256sum_mb_s']:.0f} MB/s; target ≥ 0.8x",
        ),
        (
            "  vs Python baseline",
            f"{p['ratio_vs_python']:.1f}x",
            f"{p['python_mb_s']:.0f} MB/s; target ≥ 3x",
        ),
    ]
    for rss in results["prepare_rss"]:
        rows.append(
            (
                f"peak RSS at {rss['input_mb'] / 1000:.1f} GB",
                f"{rss['peak_rss_mb']:.0f} MB",
                "target ≤ 200 MB, flat",
            )
        )
    for row in results["latency"]:
        rows.append((row["name"], f"{row['median_ms']:.1f} ms", f"p95 {row['p95_ms']:.1f} ms"))
    lim = results["limiter"]
    rows.append(
        (
            "limiter decision (BEGIN IMMEDIATE, WAL)",
            f"{lim['decision_median_us']:.0f} µs",
            f"p95 {lim['decision_p95_us']:.0f} µs",
        )
    )
    rows.append(
        (
            "64 starts, 16 in flight, 10/60 s",
            f"{lim['contention_admitted']} admitted",
            f"{lim['contention_refused_75']} × 75, {lim['contention_other']} other",
        )
    )
    t = results["trainer"]
    rows.append(
        (
            "tiny-vla CPU steps/s (shards)",
            f"{t['steps_per_second_shards']:.2f}",
            f"{t['samples_per_second_shards']:.0f} samples/s, batch {t['batch_size']}",
        )
    )
    rows.append(
        (
            "data-pipeline efficiency",
            f"{t['pipeline_efficiency']:.2f}",
            "shards ÷ in-memory; target ≥ 0.95",
        )
    )
    rows.append(
        (
            "data CPU per batch (one worker)",
            f"{t['data_cpu_ms_per_batch']:.1f} ms",
            f"vs {t['step_ms_in_memory']:.0f} ms a step in memory on {t['threads']} threads",
        )
    )
    rows.extend(gpu_rows(results))
    sim = results["sim"]
    rows.append(
        (
            f"Meta-World step+render {sim['image_size']} px",
            f"{sim['steps_per_second']:.0f} steps/s",
            f"{sim['ratio_vs_stock']:.1f}x stock rendering ({sim['stock_steps_per_second']:.0f}/s)",
        )
    )
    rows.append(
        (
            "expert demos / rollouts",
            f"{sim['demo_episodes_per_second']:.2f} / "
            f"{sim['expert_rollout_episodes_per_second']:.2f}",
            f"episodes/s; expert success {sim['expert_success_rate']:.2f}",
        )
    )
    for case in results["lerobot"]:
        rows.append(
            (
                f"LeRobot prepare {case['name']}",
                f"{case['frames_per_second']:.0f} frames/s",
                f"{case['mb_per_second']:.1f} MB/s; {case['ratio_vs_baseline']:.2f}x "
                f"{case['baseline']}",
            )
        )
    for case in results.get("lerobot_train", []):
        ours, theirs = case["vlatune"], case["lerobot_train"]
        gpu = case.get("device") == "cuda"
        memory = (
            f"peak GPU {ours['peak_gpu_memory_mb']:.0f} vs {theirs['peak_gpu_memory_mb']:.0f} MB, "
            f"{case['ratio_peak_to_estimate']:.2f}x the estimate (target 0.85–1.15)"
            if gpu
            else f"peak RSS {ours['peak_rss_mb']:.0f} vs {theirs['peak_rss_mb']:.0f} MB"
        )
        rows.append(
            (
                f"SmolVLA LoRA {'GPU bf16' if gpu else 'CPU'} batch {case['batch_size']} "
                "vs lerobot-train",
                f"{case['ratio_samples_per_second']:.2f}x",
                f"{ours['samples_per_second']:.2f} vs {theirs['samples_per_second']:.2f} "
                f"samples/s; {memory}; first step {ours['first_step_seconds']:.1f} vs "
                f"{theirs['first_step_seconds']:.1f} s; target ≥ 1.0x",
            )
        )
    for case in results.get("lerobot_activations", []):
        fp32, bf16 = case["fp32"], case["bf16"]
        if not fp32["ratio_per_sample"]:
            continue
        rows.append(
            (
                f"LeRobot {case['family']} activations, estimate ÷ saved",
                f"{bf16['ratio_per_sample']:.2f}x",
                f"bf16 {bf16['estimated_per_sample_mb']:.2f} vs "
                f"{bf16['measured_per_sample_mb']:.2f} MB a sample "
                f"(fp32 {fp32['ratio_per_sample']:.2f}x); weight copies "
                f"{bf16['estimated_fixed_mb']:.0f} vs {bf16['measured_fixed_mb']:.0f} MB",
            )
        )
    width = max(len(r[0]) for r in rows)
    table = "\n".join(f"| {name:<{width}} | {value:>14} | {note} |" for name, value, note in rows)
    print(table)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "latest.md").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
