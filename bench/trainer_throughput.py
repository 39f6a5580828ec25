#!/usr/bin/env python3
"""tiny-vla training throughput from real shards vs the same batches from memory.

The ratio (data-pipeline efficiency) shows whether streaming, decoding and augmenting starve the
model; 1.0 means the data pipeline costs nothing.

    python bench/trainer_throughput.py PACKAGE_DIR [--steps 60] [--rounds 6] [--batch-size 32]
        [--workers 1] [--device cpu|cuda] [--base-model tiny-vla|CHECKPOINT_DIR]

The streamed and in-memory steps alternate in ``rounds`` blocks. ``data_cpu_ms_per_batch`` is
what a worker spends per batch (read, decode, crop, resize, jitter) on one thread, to compare
with ``step_ms_in_memory`` times the training threads.

Workers are DataLoader processes, started as the trainer starts its ``data_workers`` (default
1; ``workers.training_loader``).
On ``--device cuda`` the model runs as the trainer runs it there (bf16 autocast, batches in
page-locked memory copied asynchronously), and each timed block ends when the GPU has finished
its queued work. The in-memory batches are the same page-locked host batches: both sides pay
the copy to the GPU, so the ratio is what the data pipeline costs.
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
from vlatune_trainer.spec import DatasetRef, Hyperparameters, JobSpec
from vlatune_trainer.train import prepare_in_workers
from vlatune_trainer.workers import start_workers, training_loader


def data_cpu_per_batch(source: TrainStream, batches: int) -> float:
    """CPU milliseconds to read, decode and augment one batch on one thread, as a worker does."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        stream = iter(source)
        for _ in range(3):
            next(stream)
        started = time.process_time()
        for _ in range(batches):
            next(stream)
        return (time.process_time() - started) / batches * 1000
    finally:
        torch.set_num_threads(threads)


def run(
    package_dir: Path,
    steps: int,
    batch_size: int,
    workers: int,
    rounds: int,
    device_name: str,
    base_model: str = "tiny-vla",
) -> dict[str, float | str]:
    torch.manual_seed(0)
    device = torch.device(device_name)
    package = Package(package_dir)
    hyper = Hyperparameters(
        lora_rank=16,
        lora_alpha=16,
        lora_dropout=0.0,
        learning_rate=5e-4,
        batch_size=batch_size,
        grad_accum=1,
        effective_batch_size=batch_size,
        max_steps=steps,
        seed=0,
        action_chunk=4,
        proprio="all",
        precision="auto",
        checkpoint_interval=steps,
        target_modules=["all-linear"],
        lr_schedule="constant",
        data_workers=0,
        gradient_checkpointing=False,
        trust_remote_code=False,
    )
    spec = JobSpec(
        schema_version=1,
        job_id="bench",
        created_at="",
        base_model=base_model,
        dataset=DatasetRef("bench", "bench", str(package_dir), "", ""),
        hyperparameters=hyper,
        gpus=1 if device.type == "cuda" else 0,
        executor="local",
        job_dir="",
        output_dir="",
        checkpoints_dir="",
        events_path="",
        trainer={},
        metadata={},
        max_running_jobs=1,
    )
    proprio = list(range(package.state_dim))
    built = build(spec, package, proprio, device)
    model = built.action_model.model.to(device)
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

    def finished() -> float:
        """The time once the device has run everything queued so far."""
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter()

    def step(batch: dict[str, torch.Tensor]) -> None:
        loss = built.action_model.loss(batch, device)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    prepare = prepare_in_workers(built, device)
    source = TrainStream(package, batcher, batch_size, seed=0, workers=workers, prepare=prepare)
    loader = training_loader(source, workers, device)
    stream = start_workers(loader)
    for _ in range(3):
        step(next(stream))
    cached = [next(stream) for _ in range(8)]
    # Alternating blocks, so the machine's drift falls on both sides of the ratio alike; each
    # streamed block starts after untimed steps have used up what the workers prefetched (4
    # batches each) while the in-memory block ran.
    block = max(1, steps // rounds)
    streamed_time = in_memory_time = 0.0
    for _ in range(rounds):
        for _ in range(4 * max(workers, 1) + 1):
            step(next(stream))
        started = finished()
        for _ in range(block):
            step(next(stream))
        streamed_time += finished() - started
        started = finished()
        for batch in itertools.islice(itertools.cycle(cached), block):
            step(batch)
        in_memory_time += finished() - started
    del stream, loader
    streamed = block * rounds / streamed_time
    in_memory = block * rounds / in_memory_time
    data_cpu = data_cpu_per_batch(
        TrainStream(package, batcher, batch_size, seed=1, prepare=prepare), block
    )
    return {
        "steps_per_second_shards": streamed,
        "steps_per_second_in_memory": in_memory,
        "samples_per_second_shards": streamed * batch_size,
        "pipeline_efficiency": streamed / in_memory,
        "step_ms_in_memory": 1000 / in_memory,
        "data_cpu_ms_per_batch": data_cpu,
        "batch_size": batch_size,
        "threads": torch.get_num_threads(),
        "workers": workers,
        "device": device.type,
        "base_model": base_model,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("package", type=Path)
    parser.add_argument(
        "--steps", type=int, default=60, help="timed steps on each side (a multiple of --rounds)"
    )
    parser.add_argument("--rounds", type=int, default=6, help="alternating blocks per side")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--base-model", default="tiny-vla")
    args = parser.parse_args()
    result = run(
        args.package,
        args.steps,
        args.batch_size,
        args.workers,
        args.rounds,
        args.device,
        args.base_model,
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
