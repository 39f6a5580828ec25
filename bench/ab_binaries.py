#!/usr/bin/env python3
"""Interleaved A/B of two vlatune binaries on one state directory (10 000 jobs): `job status`
through StatusFastPath and through ArgumentParser, `--help`, and `dataset prepare` of one
generated source. Each round alternates which binary goes first; medians are printed.

    python bench/ab_binaries.py OLD_BINARY NEW_BINARY
"""

from __future__ import annotations

import argparse
import datetime
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORMS = {
    "job status --json": ["job", "status", "job_bench0005000", "--json"],
    "job status --json -- REF": ["job", "status", "--json", "--", "job_bench0005000"],
    "--help": ["--help"],
}


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, (command, result.stderr[-300:])
    return elapsed


def generate(out: Path, episodes: int, steps: int) -> None:
    generator = str(ROOT / "examples/make_sample_dataset.py")
    sizes = ["--episodes", str(episodes), "--steps", str(steps)]
    subprocess.run(
        [sys.executable, generator, "--out", str(out), *sizes],
        check=True,
        capture_output=True,
    )


def add_jobs(database: Path, count: int) -> None:
    """`count` copies of the one real job row, a minute apart, as job_latency.py makes them."""
    connection = sqlite3.connect(database)
    template = connection.execute("SELECT * FROM jobs LIMIT 1").fetchone()
    columns = [c[1] for c in connection.execute("PRAGMA table_info(jobs)")]
    created = columns.index("created_at")
    first = datetime.datetime.fromisoformat(template[created].replace("Z", "+00:00"))
    with connection:
        for index in range(count):
            row = list(template)
            row[columns.index("id")] = f"job_bench{index:07d}"
            when = first - datetime.timedelta(minutes=index + 1)
            row[created] = when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            connection.execute(f"INSERT INTO jobs VALUES ({','.join('?' * len(row))})", row)
    connection.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vlatune-ab-"))
    env = dict(os.environ, VLATUNE_HOME=str(work / "home"))
    fake = ROOT / "Tests/Fixtures/fake_trainer.py"
    env["VLATUNE_TRAINER"] = f"{sys.executable} {fake} --steps 5 --step-seconds 0.01"
    generate(work / "small", 4, 12)
    generate(work / "big", 300, 40)
    subprocess.run(
        [args.new, "dataset", "prepare", str(work / "small"), "--name", "bench", "--quiet"],
        env=env,
        check=True,
        capture_output=True,
    )
    start = ["job", "start", "--base-model", "tiny-vla", "--dataset", "bench", "--wait"]
    subprocess.run([args.new, *start], env=env, check=True, capture_output=True)
    add_jobs(work / "home/vlatune.db", 10_000)
    os.sync()
    sides = (("old", args.old), ("new", args.new))
    samples: dict[tuple[str, str], list[float]] = {(s, f): [] for s, _ in sides for f in FORMS}
    for round_ in range(args.rounds):
        for form, command in FORMS.items():
            for side, binary in sides if round_ % 2 == 0 else sides[::-1]:
                samples[(side, form)].append(timed([binary, *command], env))
    for form in FORMS:
        old = statistics.median(samples[("old", form)]) * 1e3
        new = statistics.median(samples[("new", form)]) * 1e3
        print(f"{form:<26} old {old:6.2f} ms  new {new:6.2f} ms  new/old {new / old:.3f}")
    megabytes = sum(f.stat().st_size for f in (work / "big").rglob("*") if f.is_file()) / 1e6
    prepares: dict[str, list[float]] = {"old": [], "new": []}
    for round_ in range(3):
        for side, binary in sides if round_ % 2 == 0 else sides[::-1]:
            command = [binary, "dataset", "prepare", str(work / "big"), "--name", f"big-{side}"]
            prepares[side].append(timed([*command, "--overwrite", "--quiet"], env))
    for side, _ in sides:
        seconds = statistics.median(prepares[side])
        print(f"dataset prepare {megabytes:.0f} MB {side}: {megabytes / seconds:.0f} MB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
