"""Write the fuzz seed corpus (Fuzz/corpus/<target>/) from the real datasets in ../shared/datasets.

Each target gets small real inputs: LeRobot meta JSON and Parquet files, one episode record of
the bridge RLDS TFRecord (re-framed on its own), the project's policy fixtures, episodes from
the sample generator and NumPy arrays written with numpy. The output is committed; run this
again (with the project's .venv python, which has numpy and Pillow) only to refresh it.

    .venv/bin/python Fuzz/make_seed_corpus.py [--shared ../shared] [--out Fuzz/corpus]
"""

from __future__ import annotations

import argparse
import io
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
EPISODE_SEPARATOR = b"\xff"  # FuzzTarget.episode: meta.json, 0xFF, steps.jsonl


def copy(source: Path, target_dir: Path, name: str | None = None) -> None:
    """Copies one real file into a target's corpus folder."""
    target_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target_dir / (name or source.name))


def first_record(tfrecord: Path) -> bytes:
    """The first record of a TFRecord file with its framing (length, CRCs) as stored."""
    with tfrecord.open("rb") as handle:
        header = handle.read(12)
        (length,) = struct.unpack("<Q", header[:8])
        return header + handle.read(length + 4)


def json_seeds(datasets: Path, out: Path) -> None:
    for dataset in (
        "g1-inspire-pickbottle-v21",
        "gr00t-robot-sim-picknplace-v2",
        "reachy2-apple-storage-v30",
    ):
        copy(datasets / dataset / "meta" / "info.json", out, f"{dataset}-info.json")
    copy(datasets / "reachy2-apple-storage-v30" / "meta" / "stats.json", out, "reachy2-stats.json")
    copy(
        datasets / "gr00t-robot-sim-picknplace-v2" / "meta" / "modality.json",
        out,
        "gr00t-modality.json",
    )
    copy(
        datasets / "octo-bridge-debug-rlds" / "bridge_dataset" / "1.0.0" / "features.json",
        out,
        "bridge-features.json",
    )
    episodes = (datasets / "gr00t-robot-sim-picknplace-v2" / "meta" / "episodes.jsonl").read_bytes()
    (out / "gr00t-episode-line.json").write_bytes(episodes.splitlines()[0])
    (out / "mcp-call.json").write_bytes(
        b'{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"start_finetune_job",'
        b'"arguments":{"dataset":"pick","base_model":"tiny-vla","steps":100},"_meta":{"k":"\\u00e9"}}}'
    )


def episode_seeds(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as parent:
        scratch = str(Path(parent) / "sample")
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "examples" / "make_sample_dataset.py"),
                "--out",
                scratch,
                "--episodes",
                "2",
                "--steps",
                "12",
                "--image-size",
                "16",
            ],
            check=True,
            capture_output=True,
        )
        for index, episode in enumerate(sorted(p for p in Path(scratch).iterdir() if p.is_dir())):
            meta = (episode / "meta.json").read_bytes()
            steps = (episode / "steps.jsonl").read_bytes()
            (out / f"sample-{index}").write_bytes(meta + EPISODE_SEPARATOR + steps)
    (out / "no-steps").write_bytes(b'{"instruction": "pick", "fps": 10}')


def parquet_seeds(datasets: Path, out: Path) -> None:
    reachy = datasets / "reachy2-apple-storage-v30"
    copy(reachy / "meta" / "tasks.parquet", out, "reachy2-tasks.parquet")
    copy(
        reachy / "meta" / "episodes" / "chunk-000" / "file-000.parquet",
        out,
        "reachy2-episodes.parquet",
    )
    g1 = sorted((datasets / "g1-inspire-pickbottle-v21" / "data" / "chunk-000").glob("*.parquet"))
    smallest = min(g1, key=lambda p: p.stat().st_size)
    copy(smallest, out, "g1-" + smallest.name)


def tfrecord_seeds(datasets: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    bridge = datasets / "octo-bridge-debug-rlds" / "bridge_dataset" / "1.0.0"
    train = bridge / "bridge_dataset-train.tfrecord-00000-of-00001"
    (out / "bridge-record-0.tfrecord").write_bytes(first_record(train))
    with tempfile.TemporaryDirectory() as scratch:
        for name, extra in (("example", []), ("sequence", ["--sequence-example"])):
            subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "Tests" / "Fixtures" / "make_rlds_dataset.py"),
                    "--out",
                    scratch,
                    "--name",
                    name,
                    "--episodes",
                    "1",
                    "--steps-min",
                    "3",
                    "--steps-max",
                    "3",
                    "--action-dim",
                    "7",
                    "--state-dim",
                    "7",
                    "--cameras",
                    "image_0",
                    "--image-size",
                    "8x8",
                    *extra,
                ],
                check=True,
                capture_output=True,
            )
            record = next((Path(scratch) / name / "1.0.0").glob("*.tfrecord*"))
            (out / f"synthetic-{name}.tfrecord").write_bytes(record.read_bytes())


def policy_seeds(out: Path) -> None:
    policies = ROOT / "Tests" / "Fixtures" / "policies"
    for path in sorted(policies.rglob("*.yaml")):
        copy(path, out, path.relative_to(policies).as_posix().replace("/", "-"))


def npy_seeds(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    arrays = {
        "actions-f4": np.linspace(-1, 1, 21, dtype=np.float32).reshape(3, 7),
        "state-f8": np.arange(16, dtype=np.float64).reshape(2, 8),
        "image-u1": np.arange(48, dtype=np.uint8).reshape(1, 4, 4, 3),
        "flags-b1": np.array([True, False, True]),
        "ids-i8": np.array([1, -2, 3], dtype=np.int64),
    }
    for name, array in arrays.items():
        buffer = io.BytesIO()
        np.save(buffer, array)
        (out / f"{name}.npy").write_bytes(buffer.getvalue())
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.zeros((2, 3), dtype=np.float32), version=(2, 0))
    (out / "v2-f4.npy").write_bytes(buffer.getvalue())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--out", type=Path, default=ROOT / "Fuzz" / "corpus")
    args = parser.parse_args()
    datasets = args.shared / "datasets"
    if not datasets.is_dir():
        print(f"no datasets under {datasets}; pass --shared DIR", file=sys.stderr)
        return 66
    json_seeds(datasets, args.out / "json")
    episode_seeds(args.out / "episode")
    parquet_seeds(datasets, args.out / "parquet")
    tfrecord_seeds(datasets, args.out / "tfrecord")
    policy_seeds(args.out / "policy")
    npy_seeds(args.out / "npy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
