#!/usr/bin/env python3
"""tiny-vla training throughput from real shards vs the same batches from memory.

The ratio (data-pipeline efficiency) shows whether streaming, decoding and augmenting starve the
model; 1.0 means the data pipeline costs nothing.

    python bench/trainer_throughput.py PACKAGE_DIR [--steps 40] [--batch-size 32] [--workers 1]

Workers are DataLoader processes, as the trainer's ``data_workers`` (default 1) starts them.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import torch
from vlatune_trainer.data import Batcher, BatchSpec, TrainStream
from vlatune_trainer.models.policy import build
from vlatune_trainer.package import Package


def run(package_dir: Path, steps: int, batch_size: int, workers: int) -> dict[str, float]:
    torch.manual_seed(0)
    package = Package(package_dir)
    spec = {
        "base_model": "tiny-vla",
        "hyperparameters": {
            "lora_rank": 16,
            "lora_alpha": 16,
            "lora_dropout": 0.0,
            "action_chunk": 4,
            "target_modules": ["all-linear"],
            "seed": 0,
            "image_size": None,
        },
    }
    proprio = list(range(package.state_dim))
    built = build(spec, package, proprio, torch.device("cpu"))
    model = built.action_model.model
    batcher = Batcher(
        package,
        BatchSpec(
            image_size=built.image_size,
            cameras=package.cameras[: built.cameras],
            chunk=4,
            proprio=proprio,
            tokenize=built.tokenize,
        ),
    )
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    device = torch.device("cpu")

    def step(batch: dict[str, torch.Tensor]) -> None:
        loss = built.action_model.loss(batch, device)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    source = TrainStream(package, batcher, batch_size, seed=0, workers=workers)
    loader = torch.utils.data.DataLoader(
        source, batch_size=None, num_workers=workers, prefetch_factor=4 if workers else None
    )
    stream = iter(loader)
    for _ in range(3):
        step(next(stream))
    started = time.perf_counter()
    for _ in range(steps):
        step(next(stream))
    streamed = steps / (time.perf_counter() - started)

    cached = [next(stream) for _ in range(8)]
    started = time.perf_counter()
    for batch in itertools.islice(itertools.cycle(cached), steps):
        step(batch)
    in_memory = steps / (time.perf_counter() - started)
    return {
        "steps_per_second_shards": streamed,
        "steps_per_second_in_memory": in_memory,
        "samples_per_second_shards": streamed * batch_size,
        "pipeline_efficiency": streamed / in_memory,
        "batch_size": batch_size,
        "threads": torch.get_num_threads(),
        "workers": workers,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("package", type=Path)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(run(args.package, args.steps, args.batch_size, args.workers)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
