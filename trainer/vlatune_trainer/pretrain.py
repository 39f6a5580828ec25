"""Pretrain the tiny-vla base on a generated task family (all parameters, from a seed).

The demo and tests fine-tune this base with LoRA on a held-out variation (block colours the base
never saw), so the LoRA run is a real fine-tune rather than training a random network.

    python -m vlatune_trainer.pretrain --package <prepared package dir> --out <dir> [--steps N]

Deterministic for a given seed, package and thread count (``--threads``, default 2).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

from .data import Batcher, BatchSpec, TrainStream
from .images import pixels
from .models.policy import TinyActionModel, masked_l1
from .models.tiny_vla import TinyVLA, TinyVLAConfig, count_parameters, init_weights, tokenize
from .package import Package
from .train import Evaluator, seed_everything


def pretrain(
    package_dir: Path, out: Path, steps: int, seed: int, batch_size: int, threads: int
) -> dict:
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    seed_everything(seed)
    package = Package(package_dir)
    package.verify()
    config = TinyVLAConfig(
        cameras=len(package.cameras),
        state_dim=max(package.state_dim, 1),
        action_dim=package.action_dim,
    )
    model = TinyVLA(config)
    init_weights(model)
    batcher = Batcher(
        package,
        BatchSpec(
            image_size=config.image_size,
            cameras=package.cameras,
            chunk=config.chunk,
            proprio=list(range(package.state_dim)),
            tokenize=lambda text: tokenize(text, config),
        ),
    )
    stream = iter(TrainStream(package, batcher, batch_size, seed))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    warmup = max(1, steps // 20)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * max(0.05, 1 - s / steps)
    )
    started = time.time()
    for step in range(1, steps + 1):
        batch = next(stream)
        loss = masked_l1(
            model(pixels(batch["images"], torch.device("cpu")), batch["words"], batch["state"]),
            batch["actions"],
            batch["mask"],
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        if step % 100 == 0 or step == steps:
            print(
                f"step {step}/{steps} loss {loss.item():.4f} ({time.time() - started:.0f}s)",
                flush=True,
            )
    evaluated = TinyActionModel(model)
    metrics = Evaluator(package, batcher, 64).run(evaluated)
    shuffled = Evaluator(package, batcher, 64).run(evaluated, shuffle_instructions=True)
    out.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(weights, str(out / "model.safetensors"))
    config.save(out / "config.json")
    digest = hashlib.sha256((out / "model.safetensors").read_bytes()).hexdigest()
    provenance = {
        "seed": seed,
        "steps": steps,
        "batch_size": batch_size,
        "threads": threads,
        "package": package.name,
        "package_fingerprint": package.manifest["fingerprint"],
        "parameters": count_parameters(model)[1],
        "torch": torch.__version__,
        "val_l1": metrics.get("l1"),
        "val_baseline_l1": metrics.get("baseline"),
        "val_l1_shuffled_instructions": shuffled.get("l1"),
        "val_l1_per_dim": metrics.get("l1_per_dim"),
        "val_baseline_per_dim": metrics.get("baseline_per_dim"),
        "val_l1_per_dim_shuffled_instructions": shuffled.get("l1_per_dim"),
        "sha256": digest,
        "seconds": round(time.time() - started, 1),
    }
    (out / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    return provenance


def main() -> int:
    parser = argparse.ArgumentParser(prog="vlatune_trainer.pretrain", description=__doc__)
    parser.add_argument("--package", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    result = pretrain(args.package, args.out, args.steps, args.seed, args.batch_size, args.threads)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
