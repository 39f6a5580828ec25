#!/usr/bin/env python3
"""A straightforward Python `dataset prepare` for the benchmark baseline: the same work vlatune
does for the `episodes` format, written the obvious way (json + tarfile + hashlib + numpy exact
quantiles), single process.

    python bench/python_prepare.py SOURCE OUT
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path

import numpy as np


def stats(values: np.ndarray) -> dict[str, list[float]]:
    return {
        "mean": values.mean(0).tolist(),
        "std": values.std(0).tolist(),
        "min": values.min(0).tolist(),
        "max": values.max(0).tolist(),
        "q01": np.quantile(values, 0.01, axis=0).tolist(),
        "q99": np.quantile(values, 0.99, axis=0).tolist(),
    }


def main() -> int:
    source, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True)
    episodes = sorted(p.parent for p in source.rglob("meta.json"))
    actions, states = [], []
    shard_path = out / "train-000000.tar"
    with tarfile.open(shard_path, "w", format=tarfile.PAX_FORMAT) as tar:
        for index, episode in enumerate(episodes):
            meta = json.loads((episode / "meta.json").read_text())
            for step, line in enumerate((episode / "steps.jsonl").read_text().splitlines()):
                record = json.loads(line)
                actions.append(record["action"])
                states.append(record["state"])
                key = f"e{index:06d}_s{step:06d}"
                sample = json.dumps(
                    {"episode": index, "step": step, **record, "instruction": meta["instruction"]}
                ).encode()
                members = [(f"{key}.json", sample)]
                for camera, relative in record["images"].items():
                    members.append((f"{key}.{camera}.jpg", (episode / relative).read_bytes()))
                for name, data in members:
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
    digest = hashlib.sha256(shard_path.read_bytes()).hexdigest()
    statistics = {"action": stats(np.array(actions)), "proprio": stats(np.array(states))}
    (out / "manifest.json").write_text(json.dumps({"sha256": digest, "stats": statistics}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
