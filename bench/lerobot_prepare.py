#!/usr/bin/env python3
"""LeRobot `dataset prepare` throughput: image-column and video datasets, against baselines.

Generates LeRobotDatasets with Tests/Fixtures/make_lerobot_dataset.py (pyarrow + ffmpeg) and
times `vlatune dataset prepare` (median of 3). Baselines run in the same script on the same files:

- image columns: a straightforward Python implementation of the same job — pyarrow reads every
  data file, each frame's image bytes go into a tar shard whose sha256 is computed, and exact
  numpy statistics (mean/std/min/max/q01/q99) of the actions;
- video: the ffmpeg CLI decoding every frame and encoding it as JPEG (`-c:v mjpeg`), one file
  after another (the work vlatune does per frame).

    python bench/lerobot_prepare.py --binary .build/release/vlatune [--out results.json]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "Tests/Fixtures/make_lerobot_dataset.py"


def directory_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def generate(out: Path, options: list[str]) -> dict:
    expect = out.with_suffix(".expect.json")
    if not out.exists():
        subprocess.run(
            [sys.executable, str(GENERATOR), "--out", str(out), "--expect", str(expect), *options],
            check=True,
            capture_output=True,
        )
    return json.loads(expect.read_text())


def median_seconds(command: list[str], env: dict[str, str], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def prepare_seconds(binary: str, source: Path) -> float:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "VLATUNE_HOME": home}
        command = [binary, "dataset", "prepare", str(source), "--name", "bench", "--overwrite"]
        return median_seconds(command, env)


def python_images_once(source: Path, out: Path) -> None:
    actions = []
    with tarfile.open(out, "w") as tar:
        for file in sorted((source / "data").rglob("*.parquet")):
            table = pq.read_table(file)
            actions.append(np.array(table["action"].to_pylist(), dtype=np.float64))
            cameras = [name for name in table.column_names if name.startswith("observation.images")]
            for camera in cameras:
                for row, image in enumerate(table[camera].to_pylist()):
                    info = tarfile.TarInfo(f"{file.stem}_{row:06d}.{camera}.png")
                    info.size = len(image["bytes"])
                    tar.addfile(info, io.BytesIO(image["bytes"]))
    values = np.concatenate(actions)
    for statistic in (np.mean, np.std, np.min, np.max):
        statistic(values, axis=0)
    np.quantile(values, [0.01, 0.99], axis=0)
    digest = hashlib.sha256()
    with out.open("rb") as shard:
        while chunk := shard.read(1 << 20):
            digest.update(chunk)


def python_images_seconds(source: Path) -> float:
    times = []
    with tempfile.TemporaryDirectory() as work:
        for _ in range(3):
            start = time.perf_counter()
            python_images_once(source, Path(work) / "shard.tar")
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def ffmpeg_seconds(source: Path) -> float:
    videos = sorted((source / "videos").rglob("*.mp4"))
    times = []
    for _ in range(3):
        start = time.perf_counter()
        for video in videos:
            subprocess.run(
                [
                    "ffmpeg",
                    "-v",
                    "error",
                    "-i",
                    str(video),
                    "-f",
                    "image2pipe",
                    "-c:v",
                    "mjpeg",
                    "-q:v",
                    "2",
                    "-",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(binary: str, work: Path, name: str, options: list[str]) -> dict:
    source = work / name
    expected = generate(source, options)
    frames = int(expected["total_frames"]) * len(expected["cameras"])
    megabytes = directory_bytes(source) / 1e6
    seconds = prepare_seconds(binary, source)
    video = "--cameras" in options and options[options.index("--cameras") + 1] == "video"
    baseline = ffmpeg_seconds(source) if video else python_images_seconds(source)
    return {
        "name": name,
        "options": options,
        "frames": frames,
        "input_mb": round(megabytes, 1),
        "seconds": round(seconds, 3),
        "frames_per_second": round(frames / seconds, 1),
        "mb_per_second": round(megabytes / seconds, 1),
        "baseline": "ffmpeg CLI decode+mjpeg" if video else "Python (pyarrow+tarfile+numpy)",
        "baseline_frames_per_second": round(frames / baseline, 1),
        "ratio_vs_baseline": round(baseline / seconds, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--binary", default=str(ROOT / ".build/release/vlatune"))
    parser.add_argument("--episodes", type=int, default=40)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    work = ROOT / ".build-bench" / "lerobot"
    work.mkdir(parents=True, exist_ok=True)
    common = ["--episodes", str(args.episodes), "--steps-min", "90", "--steps-max", "110"]
    cases = [
        (
            "v3-images-160x120",
            ["--version", "v3.0", "--cameras", "image", "--image-size", "160x120"],
        ),
        ("v2-h264-320x240", ["--version", "v2.1", "--cameras", "video", "--image-size", "320x240"]),
        (
            "v3-av1-320x240",
            [
                "--version",
                "v3.0",
                "--cameras",
                "video",
                "--codec",
                "av1",
                "--image-size",
                "320x240",
                "--episodes",
                "10",
                "--camera-keys",
                "observation.images.front",
            ],
        ),
    ]
    results = [measure(args.binary, work, name, common + options) for name, options in cases]
    for row in results:
        print(
            f"{row['name']}: {row['frames_per_second']:.0f} frames/s, "
            f"{row['mb_per_second']:.1f} MB/s"
            f" ({row['frames']} frames, {row['input_mb']} MB); {row['baseline']} "
            f"{row['baseline_frames_per_second']:.0f} frames/s → {row['ratio_vs_baseline']:.2f}x"
        )
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
