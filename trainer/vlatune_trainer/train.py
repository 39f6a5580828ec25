"""The training run: spec → pretrained base + LoRA (PEFT) → AdamW over streamed shards, with
evaluation, best/last checkpoints, SIGTERM checkpointing, resume and PEFT output."""

from __future__ import annotations

import contextlib
import json
import math
import random
import resource
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
from .data import Batcher, BatchSpec, TrainStream, validation_batches
from .distributed import SilentEvents, World
from .errors import TrainerError
from .events import EventWriter
from .memory import PeakMemory, SavedActivations
from .models.policy import ActionModel, BuiltModel, build
from .models.tiny_vla import count_parameters
from .normalize import Normalizer
from .package import Package
from .spec import JobSpec
from .throughput import StepClock
from .trackers import TrackedEvents, Trackers
from .workers import start_workers, training_loader


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
    raw = json.loads(spec_path.read_text())
    events = EventWriter(raw["events_path"])
    signals = Signals()
    signals.install()
    try:
        return _train(JobSpec.from_json(raw), events, signals, resume)
    except TrainerError as error:
        events.emit("failed", code=error.code, message=error.message)
        print(f"error: {error.message}", flush=True)
        return 2
    except torch.cuda.OutOfMemoryError as error:  # pragma: no cover - needs a GPU
        events.emit("failed", code="oom", message=str(error))
        return 3


def _train(spec: JobSpec, events: EventWriter, signals: Signals, resume: bool) -> int:
    world = World.from_environment()
    trackers = Trackers(spec) if world.main else None
    outcome = "FAILED"
    try:
        tracked = TrackedEvents(events, trackers) if trackers else SilentEvents()
        result = Training(world, spec, tracked, signals, resume).run()
        # Stopped by SIGTERM before the end: the run is resumable, not finished.
        outcome = "FINISHED" if trackers and trackers.adapter else "KILLED"
        return result
    finally:
        try:
            if trackers:
                trackers.finish(outcome)
        finally:
            world.close()


class Training:
    """One run of the training loop, in its phases: set-up (``__init__``: model, data,
    optimizer, schedule, the checkpoint to continue from), ``train_step``, ``report``,
    ``evaluate``, ``save_checkpoint`` and ``finish``; ``run`` drives them."""

    def __init__(
        self,
        world: World,
        spec: JobSpec,
        events: TrackedEvents | SilentEvents,
        signals: Signals,
        resume: bool,
    ) -> None:
        self.world, self.spec, self.events, self.signals = world, spec, events, signals
        hyper = spec.hyperparameters
        self.seed = hyper.seed
        seed_everything(self.seed)
        device = world.device(spec.gpus > 0 and torch.cuda.is_available())
        self.device = device
        if world.distributed and world.main:
            backend = "NCCL, gloo for control" if device.type == "cuda" else "gloo"
            print(f"distributed: {world.size} processes ({backend})", flush=True)
        package = Package(spec.dataset.path)
        package.verify()
        self.package = package
        proprio = proprio_dims(hyper.proprio, package.state_dim)
        built = build(spec, package, proprio, device)
        self.built = built
        model = built.action_model.model
        model.to(device)
        built.action_model.train_module = world.wrap(model)
        self.model = model
        self.trainable, self.total = count_parameters(model)
        print(
            f"trainable parameters: {self.trainable} of {self.total} "
            f"({100 * self.trainable / self.total:.2f}%)",
            flush=True,
        )
        self.batcher = self._batcher(proprio)
        self.inputs = {"proprio_dims": proprio, "cameras": list(self.batcher.spec.cameras)}
        self.optimizer = torch.optim.AdamW(
            [p for p in model.parameters() if p.requires_grad],
            lr=hyper.learning_rate,
            weight_decay=0.0,
        )
        self.max_steps = hyper.max_steps
        self.scheduler = learning_rate_schedule(
            self.optimizer, self.max_steps, constant=hyper.lr_schedule == "constant"
        )
        self.start = 0
        self.best = math.inf
        chosen = resume_checkpoint(spec, Path(spec.checkpoints_dir), resume)
        if chosen is not None:
            state = checkpoint.load(chosen, model, self.optimizer, self.scheduler)
            self.start = state["step"]
            self.best = state.get("best_l1", math.inf)
            print(f"resumed from {chosen} at step {self.start}", flush=True)
        elif spec.init_adapter:
            checkpoint.load_weights(Path(spec.init_adapter), model)
            print(f"adapter weights initialised from {spec.init_adapter}", flush=True)
        self.accumulation = hyper.grad_accum
        self.batch_size = hyper.batch_size
        self.interval = hyper.checkpoint_interval
        self.eval_every = max(1, min(self.interval, self.max_steps // 4 or 1))
        # Progress every 2 s, and at least ~100 times a run (the history `job metrics` prints).
        self.log_every = max(1, self.max_steps // 100)
        self.output = Path(spec.output_dir)
        self.step = self.start
        # The last micro-batch's loss stays on the device until a progress event reads it:
        # reading it every step would make the CPU wait for the GPU before it queued the next.
        self.last_loss: torch.Tensor | None = None
        self.grad_norm = math.nan
        self.last_report = 0.0
        self.started = time.time()
        self.clock = StepClock(device)
        self.memory = PeakMemory(device)
        # What the first micro-batch's forward kept for backward (``completed``). Not measured
        # under gradient checkpointing: its regions hold saved-tensor hooks of their own, which
        # hide what they keep from the meter.
        self.saved: SavedActivations | None = None
        self.batches: Any = None
        self.evaluator = Evaluator(package, self.batcher, 64, device)

    def _batcher(self, proprio: list[int]) -> Any:
        built, package = self.built, self.package
        if built.batcher is not None:
            return built.batcher(package)
        cameras = package.cameras[: built.cameras]
        while len(cameras) < built.cameras:
            cameras.append(cameras[-1])
        return Batcher(
            package,
            BatchSpec(
                image_size=built.image_size,
                cameras=cameras,
                chunk=self.spec.hyperparameters.action_chunk,
                proprio=proprio,
                tokenize=built.tokenize,
            ),
        )

    def open_data(self) -> None:
        """Starts the batch stream at the position of the step training continues from; every
        rank draws its own batches (rank 0 those of a single-process run)."""
        workers = self.spec.hyperparameters.data_workers
        stream = TrainStream(
            self.package,
            self.batcher,
            self.batch_size,
            self.seed + 7919 * self.world.rank,
            start_batch=self.start * self.accumulation,
            workers=workers,
            prepare=prepare_in_workers(self.built, self.device),
        )
        self.batches = start_workers(training_loader(stream, workers, self.device))

    def run(self) -> int:
        if isinstance(self.events, TrackedEvents):
            self.events.trackers.open(self.start)
        self.events.emit(
            "started",
            total_steps=self.max_steps,
            trainable_parameters=self.trainable,
            total_parameters=self.total,
            resumed_from=self.start,
        )
        self.open_data()
        while self.step < self.max_steps:
            self.train_step()
            now = time.time()
            stop, checkpoint_now = self.world.agree(self.signals.stop, self.signals.checkpoint_now)
            if (
                now - self.last_report >= 2
                or self.step % self.log_every == 0
                or self.step == self.max_steps
                or self.step == self.start + 1
            ):
                self.report(now)
            if self.world.main and (
                self.step % self.eval_every == 0 or self.step == self.max_steps
            ):
                self.evaluate()
            if (
                stop
                or checkpoint_now
                or self.step % self.interval == 0
                or self.step == self.max_steps
            ):
                self.save_checkpoint()
            if stop and self.step < self.max_steps:
                self.events.emit("cancelled", step=self.step)
                print(
                    f"stopped by SIGTERM at step {self.step}; resumable checkpoint written",
                    flush=True,
                )
                return 0
        return self.finish()

    def train_step(self) -> None:
        """One optimizer step over ``grad_accum`` micro-batches."""
        self.optimizer.zero_grad(set_to_none=True)
        for _ in range(self.accumulation):
            batch = next(self.batches)
            meter = None
            if self.saved is None and not self.spec.hyperparameters.gradient_checkpointing:
                meter = self.saved = SavedActivations(self.model)
            with meter.measuring() if meter else contextlib.nullcontext():
                loss = self.built.action_model.loss(batch, self.device)
            (loss / self.accumulation).backward()
            self.last_loss = loss.detach()
        self.grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.scheduler.step()
        self.step += 1
        self.clock.step_done()

    def report(self, now: float) -> None:
        """A ``progress`` event and its log line."""
        elapsed = max(now - self.started, 1e-6)
        done = self.step - self.start
        progress = {
            "step": self.step,
            "total_steps": self.max_steps,
            "loss": math.nan if self.last_loss is None else float(self.last_loss),
            "grad_norm": float(self.grad_norm),
            "learning_rate": self.scheduler.get_last_lr()[0],
            "samples_per_second": done
            * self.batch_size
            * self.accumulation
            * self.world.size
            / elapsed,
        }
        self.events.emit("progress", **progress)
        if self.world.main:
            print(progress_line(progress, elapsed / done), flush=True)
        self.last_report = now

    def evaluate(self) -> None:
        """Validation metrics (an ``eval`` event); a new best saves ``output/best``."""
        self.events.emit("phase", phase="evaluating", step=self.step)
        with self.clock.paused(), self.memory.evaluating():
            metrics = self.evaluator.run(self.built.action_model)
        if not metrics:
            return
        self.events.emit(
            "eval",
            step=self.step,
            val_loss=metrics["loss"],
            val_l1=metrics["l1"],
            val_baseline_l1=metrics["baseline"],
            **token_metrics(metrics),
        )
        print(
            f"eval step {self.step} val_loss {metrics['loss']:.4g} val_l1 {metrics['l1']:.4g} "
            f"baseline_l1 {metrics['baseline']:.4g}",
            flush=True,
        )
        if metrics["l1"] < self.best:
            self.best = metrics["l1"]
            with self.clock.paused():
                save_adapter(
                    self.built, self.output / "best", self.spec, self.package, metrics, self.inputs
                )

    def save_checkpoint(self) -> None:
        """A resumable checkpoint (rank 0 writes it; every rank waits for it)."""
        with self.clock.paused():
            if self.world.main:
                self.events.emit("phase", phase="checkpointing", step=self.step)
                path = checkpoint.save(
                    Path(self.spec.checkpoints_dir),
                    self.model,
                    self.optimizer,
                    self.scheduler,
                    self.step,
                    {"best_l1": self.best},
                )
                self.events.emit("checkpoint", step=self.step, path=str(path))
                print(f"checkpoint step {self.step} {path}", flush=True)
            self.world.barrier()
        self.signals.checkpoint_now = False

    def finish(self) -> int:
        """The final evaluation, the adapter, ``metrics.json`` and the ``completed`` event."""
        steps_per_second = self.clock.steps_per_second()
        if not self.world.main:
            return 0
        self.events.emit("phase", phase="evaluating", step=self.step)
        with self.memory.evaluating():
            final = self.evaluator.run(self.built.action_model)
            shuffled = self.evaluator.run(self.built.action_model, shuffle_instructions=True)
        save_adapter(
            self.built, self.output / "adapter", self.spec, self.package, final, self.inputs
        )
        if isinstance(self.events, TrackedEvents):
            self.events.trackers.adapter = self.output / "adapter"
        report = {
            "memory_estimate": self.spec.memory_estimate,
            "val": final,
            "val_shuffled_instructions": shuffled,
            "best_val_l1": self.best,
            "steps": self.step,
        }
        (self.output / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
        if final:
            self.events.emit(
                "eval",
                step=self.step,
                val_loss=final["loss"],
                val_l1=final["l1"],
                val_baseline_l1=final["baseline"],
                val_l1_shuffled_instructions=shuffled["l1"],
                **token_metrics(final),
            )
        peak = self.memory.report()
        if peak:  # pragma: no cover - needs a GPU
            print(
                f"peak GPU memory: {peak['peak_gpu_memory_bytes'] / 2**20:.0f} MiB training, "
                f"{peak['peak_gpu_memory_eval_bytes'] / 2**20:.0f} MiB evaluating, "
                f"{peak['peak_gpu_memory_reserved_bytes'] / 2**20:.0f} MiB reserved",
                flush=True,
            )
        self.events.emit(
            "completed",
            step=self.step,
            steps_per_second=steps_per_second,
            peak_rss_bytes=peak_rss_bytes(),
            saved_activation_bytes=None if self.saved is None else self.saved.bytes,
            **peak,
        )
        return 0


def peak_rss_bytes() -> int:
    """The most resident memory the training process has held (``ru_maxrss``, kB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def learning_rate_schedule(
    optimizer: torch.optim.Optimizer, max_steps: int, constant: bool
) -> torch.optim.lr_scheduler.LambdaLR:
    """A linear warmup over the first 5% of steps, then cosine decay to 0 (or constant)."""
    warmup = max(1, max_steps // 20)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: (
            min(1.0, (s + 1) / warmup)
            * (1.0 if constant else 0.5 * (1 + math.cos(math.pi * min(s, max_steps) / max_steps)))
        ),
    )


def resume_checkpoint(spec: JobSpec, checkpoints: Path, resume: bool) -> Path | None:
    """The checkpoint a run continues from: the one `job resume` chose (``spec.resume``),
    else with ``--resume`` the latest in the job's checkpoints, else none."""
    if spec.resume:
        path = Path(spec.resume.checkpoint)
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
    spec: JobSpec,
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
    (output / "train_config.json").write_text(json.dumps({**spec.raw, **inputs}, indent=2) + "\n")
