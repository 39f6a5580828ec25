#!/usr/bin/env python3
"""Measure job lifecycle latencies of a built vlatune binary (release recommended).

- start: `vlatune job start` wall time; it returns once the trainer's pid is recorded;
- cancel: `vlatune job cancel --grace 5` wall time; it returns once the job is terminal and the
  trainer and watcher are gone (the test trainer checkpoints on SIGTERM);
- status/list with 10 000 jobs in the database: `job status --json` (also with `--` before the
  reference, which ArgumentParser parses instead of StatusFastPath), `job list --json --limit 50`.

    python bench/job_latency.py --binary .build/release/vlatune
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(
    command: list[str], env: dict[str, str]
) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, result


def summary(name: str, samples: list[float]) -> dict[str, float | str | int]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    row = {
        "name": name,
        "runs": len(samples),
        "median_ms": statistics.median(samples) * 1e3,
        "p95_ms": p95 * 1e3,
    }
    print(
        f"{name:<40} median {row['median_ms']:8.1f} ms   p95 {row['p95_ms']:8.1f} ms"
        f"   ({len(samples)} runs)"
    )
    return row


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=str(ROOT / ".build/release/vlatune"))
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="vlatune-bench-"))
    policy = home / "policy.yaml"
    policy.write_text(
        "version: 1\ntools:\n  start_finetune_job:\n    rules: [{rate_limit: 1000/minute}]\n"
        "limits: {max_running_jobs: 64, max_queued_jobs: 64}\n"
    )
    env = dict(os.environ, VLATUNE_HOME=str(home / "home"), VLATUNE_POLICY=str(policy))
    fake = ROOT / "Tests/Fixtures/fake_trainer.py"
    trainer = f"{sys.executable} {fake} --steps 100000 --step-seconds 0.02"
    env["VLATUNE_TRAINER"] = trainer
    subprocess.run(
        [
            sys.executable,
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
    subprocess.run(
        [args.binary, "dataset", "prepare", str(home / "src"), "--name", "bench", "--quiet"],
        env=env,
        check=True,
        capture_output=True,
    )
    vl = [args.binary]
    rows = []

    starts, cancels = [], []
    for _ in range(args.runs):
        elapsed, result = timed(
            [*vl, "job", "start", "--base-model", "tiny-vla", "--dataset", "bench", "--json"], env
        )
        document = json.loads(result.stdout)
        assert document["processes"]["trainer_pid"], document
        starts.append(elapsed)
        time.sleep(0.1)  # let it run a few steps before the cancel
        elapsed, result = timed(
            [*vl, "job", "cancel", document["id"], "--grace", "5", "--json"], env
        )
        final = json.loads(result.stdout)
        assert final["state"] == "cancelled", final
        for pid in (final["processes"]["trainer_pid"], final["processes"]["watcher_pid"]):
            state = Path(f"/proc/{pid}/stat")
            alive = state.exists() and state.read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
            assert not alive, f"pid {pid} still alive after cancel"
        cancels.append(elapsed)
    rows.append(summary("job start → trainer pid recorded", starts))
    rows.append(summary("job cancel --grace 5 → processes gone", cancels))

    database = sqlite3.connect(home / "home/vlatune.db")
    template = database.execute("SELECT * FROM jobs LIMIT 1").fetchone()
    columns = [c[1] for c in database.execute("PRAGMA table_info(jobs)")]
    id_index = columns.index("id")
    created_index = columns.index("created_at")
    # Older jobs, one a minute back from the first real one (distinct times, as jobs have).
    first = datetime.datetime.fromisoformat(template[created_index].replace("Z", "+00:00"))
    with database:
        for index in range(args.jobs):
            row = list(template)
            row[id_index] = f"job_bench{index:07d}"
            created = first - datetime.timedelta(minutes=index + 1)
            row[created_index] = created.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            database.execute(f"INSERT INTO jobs VALUES ({','.join('?' * len(row))})", row)
    database.close()
    # Settled before the timed runs, as the prepare bench is: the 40 MB just written is flushed
    # now rather than by write-back during them, and each series gets one untimed run first.
    os.sync()
    total = args.jobs + args.runs

    def series(command: list[str]) -> list[float]:
        timed(command, env)
        return [timed(command, env)[0] for _ in range(50)]

    # The same request both ways, interleaved run by run: the polling form StatusFastPath reads,
    # and with `--` before the reference, which it leaves to ArgumentParser (same answer).
    fast_command = [*vl, "job", "status", "job_bench0005000", "--json"]
    parsed_command = [*vl, "job", "status", "--json", "--", "job_bench0005000"]
    timed(fast_command, env)
    timed(parsed_command, env)
    status, parsed = [], []
    for _ in range(50):
        status.append(timed(fast_command, env)[0])
        parsed.append(timed(parsed_command, env)[0])
    rows.append(summary(f"job status --json ({total} jobs)", status))
    rows.append(summary(f"job status --json -- REF, ArgumentParser ({total} jobs)", parsed))
    listing = series([*vl, "job", "list", "--json", "--limit", "50"])
    rows.append(summary(f"job list --json --limit 50 ({total} jobs)", listing))
    datasets = series([*vl, "dataset", "list", "--json"])
    rows.append(summary("dataset list --json", datasets))
    # What the machine gives any process right now: start-up and parse alone, and /bin/true
    # through the same subprocess call (these VMs drift by ±30% within an hour).
    helps = [timed([*vl, "--help"], env)[0] for _ in range(50)]
    rows.append(summary("vlatune --help (start-up + parse)", helps))
    trues = [timed(["/bin/true"], env)[0] for _ in range(50)]
    rows.append(summary("/bin/true (subprocess floor)", trues))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
