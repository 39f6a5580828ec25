"""The training run: spec → pretrained base + LoRA (PEFT) → AdamW over streamed shards, with
evaluation, best/last checkpoints, SIGTERM checkpointing, resume and PEFT output."""

from __future__ import annotations

import json
import math
import random
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import checkpoint
from .data import (
    Batcher,
    BatchSpec,
    TrainStream,
    start_workers,
    training_loader,
    validation_batches,
)
from .distributed import SilentEvents, World
from .errors import TrainerError
from .events import EventWriter
from .memory import PeakMemory
from .models.policy import ActionModel, BuiltModel, build
from .models.tiny_vla import count_parameters
from .normalize import Normalizer
from .package import Package
from .throughput import StepClock
from .trackers import TrackedEvents, Trackers


@dataclass
class Signals:
    """SIGTERM: finish the step, checkpoint, stop. SIGUSR1: checkpoint and continue."""

    stop: bool = False
    checkpoint_now: bool = False

    def install(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stop", True))
        signal.signal(signal.SIGUSR1, lambda *_: setattr(self, "checkpoint_now", True))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def proprio_dims(setting: str, state_dim: int) -> list[int]:
    if setting == "all":
        return list(range(state_dim))
    if setting == "none":
        return []
    dims = [int(part) for part in setting.split(",") if part.strip()]
    if any(d < 0 or d >= state_dim for d in dims):
        raise TrainerError("config_error", f"proprio dims {dims} outside 0…{state_dim - 1}")
    return dims


class Evaluator:
    """Validation: L1 in un-normalized units per action dimension, the mean-action baseline,
    and the same with instructions shuffled across episodes (the instruction check)."""

    def __init__(
        self,
        package: Package,
        batcher: Any,
        batch_size: int,
        device: torch.device | None = None,
    ) -> None:
        self.device = device or torch.device("cpu")
        self.package = package
        self.batcher = batcher
        self.batch_size = batch_size
        self.normalizer = Normalizer(package.statistics["action"])
        train_rows = np.concatenate(
            [
                np.arange(e.offset, e.offset + e.steps)
                for e in package.episodes
                if e.split == "train"
            ]
        )
        self.mean_action = package.actions[train_rows].mean(axis=0)

    @torch.no_grad()
    def run(self, action_model: ActionModel, shuffle_instructions: bool = False) -> dict[str, Any]:
        # Evaluation runs on rank 0 alone: never through the DistributedDataParallel wrapper.
        wrapper, action_model.train_module = action_model.train_module, None
        try:
            return self._run(action_model, shuffle_instructions)
        finally:
            action_model.train_module = wrapper

    def _run(self, action_model: ActionModel, shuffle_instructions: bool) -> dict[str, Any]:
        action_model.model.eval()
        errors, baseline, accuracies = [], [], []
        losses: list[tuple[float, int]] = []
        rng = np.random.default_rng(0)
        for batch in validation_batches(self.package, self.batcher, self.batch_size):
            if shuffle_instructions:
                batch = shuffled_instructions(batch, rng.permutation(len(batch["words"])))
            predicted, accuracy = action_model.predict(batch, self.device)
            losses.append((float(action_model.loss(batch, self.device)), len(batch["words"])))
            truth = self.batcher.actions_raw(batch)
            current = predicted[:, 0]
            if not getattr(action_model, "raw_predictions", False):
                current = self.normalizer.unnormalize(current)
            errors.append(np.abs(current - truth))
            baseline.append(np.abs(self.mean_action - truth))
            if accuracy is not None:
                accuracies.append((accuracy, len(truth)))
        action_model.model.train()
        if not errors:
            return {}
        per_dim = np.concatenate(errors).mean(axis=0)
        base = np.concatenate(baseline).mean(axis=0)
        result = {
            "l1_per_dim": per_dim.tolist(),
            "baseline_per_dim": base.tolist(),
            "l1": float(per_dim.mean()),
            "baseline": float(base.mean()),
            "loss": sum(v * n for v, n in losses) / max(sum(n for _, n in losses), 1),
        }
        if accuracies:
            weight = sum(n for _, n in accuracies)
            result["token_accuracy"] = sum(a * n for a, n in accuracies) / weight
        return result


def token_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """``val_token_accuracy`` for token-mode models, nothing otherwise."""
    if "token_accuracy" in metrics:
        return {"val_token_accuracy": metrics["token_accuracy"]}
    return {}


def prepare_in_workers(
    built: BuiltModel, device: torch.device
) -> Callable[[dict[str, Any]], dict[str, torch.Tensor]] | None:
    """The model's input preparation for the data workers when the model trains on a GPU: the
    training process is then left to feed the GPU. On CPU the step itself runs on every core,
    and preparing in the training process, one thread while the step's others wait, left a core
    to the worker: 18.3 / 17.7 against 16.8 / 15.0 steps/s (a tiny LLaVA, 2 cores, one worker;
    docs/performance.md)."""
    return built.prepare if device.type == "cuda" else None


def shuffled_instructions(batch: dict[str, Any], order: np.ndarray) -> dict[str, Any]:
    """The batch with its instructions (word ids and text) permuted across samples."""
    result = dict(batch)
    result.pop("model_inputs", None)  # made from the original instructions
    result["words"] = batch["words"][torch.from_numpy(order)]
    result["instructions"] = [batch["instructions"][i] for i in order]
    return result


def run(spec_path: Path, resume: bool = False) -> int:
    spec = json.loads(spec_path.read_text())
    events = EventWriter(spec["events_path"])
    signals = Signals()
    signals.install()
    try:
        return _train(spec, events, signals, resume)
    except TrainerError as error:
        events.emit("failed", code=error.code, message=error.message)
        print(f"error: {error.message}", flush=True)
        return 2
    except torch.cuda.OutOfMemoryError as error:  # pragma: no cover - needs a GPU
        events.emit("failed", code="oom", message=str(error))
        return 3


def _train(spec: dict, events: EventWriter, signals: Signals, resume: bool) -> int:
    world = World.from_environment()
    trackers = Trackers(spec) if world.main else None
    outcome = "FAILED"
    try:
        result = _train_in(
            world,
            spec,
            TrackedEvents(events, trackers) if trackers else SilentEvents(),
            signals,
            resume,
        )
        # Stopped by SIGTERM before the end: the run is resumable, not finished.
        outcome = "FINISHED" if trackers and trackers.adapter else "KILLED"
        return result
    finally:
        try:
            if trackers:
                trackers.finish(outcome)
        finally:
            world.close()


def _train_in(
    world: World, spec: dict, events: TrackedEvents | SilentEvents, signals: Signals, resume: bool
) -> int:
    hyper = spec["hyperparameters"]
    seed = int(hyper["seed"])
    seed_everything(seed)
    device = world.device(spec.get("gpus", 0) > 0 and torch.cuda.is_available())
    if world.distributed and world.main:
        backend = "NCCL, gloo for control" if device.type == "cuda" else "gloo"
        print(f"distributed: {world.size} processes ({backend})", flush=True)
    package = Package(spec["dataset"]["path"])
    package.verify()
    proprio = proprio_dims(hyper.get("proprio", "all"), package.state_dim)
    built = build(spec, package, proprio, device)
    model = built.action_model.model
    model.to(device)
    built.action_model.train_module = world.wrap(model)
    trainable, total = count_parameters(model)
    print(
        f"trainable parameters: {trainable} of {total} ({100 * trainable / total:.2f}%)", flush=True
    )
    cameras = package.cameras[: built.cameras]
    while len(cameras) < built.cameras:
        cameras.append(cameras[-1])
    batcher = (
        built.batcher(package)
        if built.batcher is not None
        else Batcher(
            package,
            BatchSpec(
                image_size=built.image_size,
                cameras=cameras,
                chunk=hyper["action_chunk"],
                proprio=proprio,
                tokenize=built.tokenize,
            ),
        )
    )
    cameras = list(batcher.spec.cameras)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad],
        lr=hyper["learning_rate"],
        weight_decay=0.0,
    )
    inputs = {"proprio_dims": proprio, "cameras": cameras}
    max_steps = int(hyper["max_steps"])
    warmup = max(1, max_steps // 20)
    constant = hyper.get("lr_schedule", "cosine") == "constant"
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: (
            min(1.0, (s + 1) / warmup)
            * (1.0 if constant else 0.5 * (1 + math.cos(math.pi * min(s, max_steps) / max_steps)))
        ),
    )
    checkpoints = Path(spec["checkpoints_dir"])
    start = 0
    best = math.inf
    chosen = resume_checkpoint(spec, checkpoints, resume)
    if chosen is not None:
        state = checkpoint.load(chosen, model, optimizer, scheduler)
        start = state["step"]
        best = state.get("best_l1", math.inf)
        print(f"resumed from {chosen} at step {start}", flush=True)
    elif spec.get("init_adapter"):
        checkpoint.load_weights(Path(spec["init_adapter"]), model)
        print(f"adapter weights initialised from {spec['init_adapter']}", flush=True)
    if isinstance(events, TrackedEvents):
        events.trackers.open(start)
    events.emit(
        "started",
        total_steps=max_steps,
        trainable_parameters=trainable,
        total_parameters=total,
        resumed_from=start,
    )
    accumulation = int(hyper["grad_accum"])
    batch_size = int(hyper["batch_size"])
    workers = int(hyper.get("data_workers", 0))
    # Every rank draws its own batches (rank 0 those of a single-process run).
    stream_seed = seed + 7919 * world.rank
    stream = TrainStream(
        package,
        batcher,
        batch_size,
        stream_seed,
        start_batch=start * accumulation,
        workers=workers,
        prepare=prepare_in_workers(built, device),
    )
    batches = start_workers(training_loader(stream, workers, device))
    evaluator = Evaluator(package, batcher, 64, device)
    interval = int(hyper["checkpoint_interval"])
    eval_every = max(1, min(interval, max_steps // 4 or 1))
    # Progress every 2 s, and at least ~100 times a run (the history `job metrics` prints).
    log_every = max(1, max_steps // 100)
    output = Path(spec["output_dir"])
    last_report = 0.0
    started = time.time()
    step = start
    # The last micro-batch's loss stays on the device until a progress event reads it: reading
    # it every step would make the CPU wait for the GPU before it could queue the next step.
    last_loss: torch.Tensor | None = None
    clock = StepClock(device)
    memory = PeakMemory(device)
    while step < max_steps:
        optimizer.zero_grad(set_to_none=True)
        for _ in range(accumulation):
            batch = next(batches)
            loss = built.action_model.loss(batch, device)
            (loss / accumulation).backward()
            last_loss = loss.detach()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        step += 1
        clock.step_done()
        now = time.time()
        stop, checkpoint_now = world.agree(signals.stop, signals.checkpoint_now)
        if (
            now - last_report >= 2
            or step % log_every == 0
            or step == max_steps
            or step == start + 1
        ):
            elapsed = max(now - started, 1e-6)
            progress = {
                "step": step,
                "total_steps": max_steps,
                "loss": math.nan if last_loss is None else float(last_loss),
                "grad_norm": float(grad_norm),
                "learning_rate": scheduler.get_last_lr()[0],
                "samples_per_second": (step - start)
                * batch_size
                * accumulation
                * world.size
                / elapsed,
            }
            events.emit("progress", **progress)
            if world.main:
                print(progress_line(progress, elapsed / (step - start)), flush=True)
            last_report = now
        if world.main and (step % eval_every == 0 or step == max_steps):
            events.emit("phase", phase="evaluating", step=step)
            with clock.paused(), memory.evaluating():
                metrics = evaluator.run(built.action_model)
            if metrics:
                events.emit(
                    "eval",
                    step=step,
                    val_loss=metrics["loss"],
                    val_l1=metrics["l1"],
                    val_baseline_l1=metrics["baseline"],
                    **token_metrics(metrics),
                )
                print(
                    f"eval step {step} val_loss {metrics['loss']:.4g} val_l1 {metrics['l1']:.4g} "
                    f"baseline_l1 {metrics['baseline']:.4g}",
                    flush=True,
                )
                if metrics["l1"] < best:
                    best = metrics["l1"]
                    with clock.paused():
                        save_adapter(built, output / "best", spec, package, metrics, inputs)
        if stop or checkpoint_now or step % interval == 0 or step == max_steps:
            with clock.paused():
                if world.main:
                    events.emit("phase", phase="checkpointing", step=step)
                    path = checkpoint.save(
                        checkpoints, model, optimizer, scheduler, step, {"best_l1": best}
                    )
                    events.emit("checkpoint", step=step, path=str(path))
                    print(f"checkpoint step {step} {path}", flush=True)
                world.barrier()
            signals.checkpoint_now = False
        if stop and step < max_steps:
            events.emit("cancelled", step=step)
            print(f"stopped by SIGTERM at step {step}; resumable checkpoint written", flush=True)
            return 0
    steps_per_second = clock.steps_per_second()
    if not world.main:
        return 0
    events.emit("phase", phase="evaluating", step=step)
    with memory.evaluating():
        final = evaluator.run(built.action_model)
        shuffled = evaluator.run(built.action_model, shuffle_instructions=True)
    save_adapter(built, output / "adapter", spec, package, final, inputs)
    if isinstance(events, TrackedEvents):
        events.trackers.adapter = output / "adapter"
    report = {
        "memory_estimate": spec.get("memory_estimate"),
        "val": final,
        "val_shuffled_instructions": shuffled,
        "best_val_l1": best,
        "steps": step,
    }
    (output / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    if final:
        events.emit(
            "eval",
            step=step,
            val_loss=final["loss"],
            val_l1=final["l1"],
            val_baseline_l1=final["baseline"],
            val_l1_shuffled_instructions=shuffled["l1"],
            **token_metrics(final),
        )
    peak = memory.report()
    if peak:  # pragma: no cover - needs a GPU
        print(
            f"peak GPU memory: {peak['peak_gpu_memory_bytes'] / 2**20:.0f} MiB training, "
            f"{peak['peak_gpu_memory_eval_bytes'] / 2**20:.0f} MiB evaluating, "
            f"{peak['peak_gpu_memory_reserved_bytes'] / 2**20:.0f} MiB reserved",
            flush=True,
        )
    events.emit("completed", step=step, steps_per_second=steps_per_second, **peak)
    return 0


def resume_checkpoint(spec: dict, checkpoints: Path, resume: bool) -> Path | None:
    """The checkpoint a run continues from: the one `job resume` chose (``spec["resume"]``),
    else with ``--resume`` the latest in the job's checkpoints, else none."""
    chosen = spec.get("resume")
    if chosen:
        path = Path(chosen["checkpoint"])
        if not (path / "trainer_state.json").exists():
            raise TrainerError(
                "resume_failed",
                f"checkpoint {path} to resume from is missing or incomplete "
                "(no trainer_state.json)",
            )
        return path
    return checkpoint.latest(checkpoints) if resume else None


def progress_line(progress: dict[str, float], seconds_per_step: float) -> str:
    """One plain log line per progress event, as lerobot-train prints them:
    ``step 120/400 loss 0.21 grdn 0.8 lr 4.1e-4 smp/s 210 eta 1m20s``."""
    left = max(progress["total_steps"] - progress["step"], 0) * seconds_per_step
    return (
        f"step {progress['step']}/{progress['total_steps']} loss {progress['loss']:.4g} "
        f"grdn {progress['grad_norm']:.3g} lr {progress['learning_rate']:.2g} "
        f"smp/s {progress['samples_per_second']:.4g} eta {human_duration(left)}"
    )


def human_duration(seconds: float) -> str:
    """``45s``, ``4m12s``, ``2h05m``."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def save_adapter(
    built: BuiltModel,
    directory: Path,
    spec: dict,
    package: Package,
    metrics: dict,
    inputs: dict[str, Any],
) -> None:
    """PEFT adapter (adapter_config.json, adapter_model.safetensors, the head included as a
    module to save), the dataset statistics under one unnorm_key, and the training config."""
    temporary = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(temporary, ignore_errors=True)
    built.action_model.model.save_pretrained(str(temporary))
    shutil.copy(package.path / "dataset_statistics.json", temporary / "dataset_statistics.json")
    built.save_config(temporary)
    (temporary / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    if directory.exists():
        shutil.rmtree(directory)
    temporary.rename(directory)
    output = directory.parent
    shutil.copy(package.path / "dataset_statistics.json", output / "dataset_statistics.json")
    (output / "train_config.json").write_text(json.dumps({**spec, **inputs}, indent=2) + "\n")
