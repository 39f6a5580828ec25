"""Training throughput as the trainer reports it in its ``completed`` event."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch


class StepClock:
    """Optimizer steps per second of one run: from the end of its first step (which pays for
    warm-up: allocator growth, kernel selection) to the end of its last, without the time spent
    evaluating and checkpointing. Waiting for data counts: it is part of training.

    On CUDA, steps are queued ahead of the GPU; the clock waits for the GPU (``synchronize``)
    where it starts, pauses and stops, so queued work is counted where it ran.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.started: float | None = None
        self.paused_seconds = 0.0
        self.steps = 0

    def _sync(self) -> None:
        if self.device.type == "cuda":  # pragma: no cover - needs a GPU
            torch.cuda.synchronize(self.device)

    def step_done(self) -> None:
        """Called after each optimizer step; the first one starts the clock."""
        if self.started is None:
            self._sync()
            self.started = time.perf_counter()
        else:
            self.steps += 1

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Work that is not training (evaluation, checkpoints) inside this block is not counted."""
        if self.started is None:
            yield
            return
        self._sync()
        began = time.perf_counter()
        try:
            yield
        except BaseException:
            # No synchronize here: after a CUDA error it would raise again, over the original.
            self.paused_seconds += time.perf_counter() - began
            raise
        self._sync()
        self.paused_seconds += time.perf_counter() - began

    def steps_per_second(self) -> float | None:
        """Steps after the first ÷ their training time; ``None`` before a second step."""
        if self.started is None or self.steps == 0:
            return None
        self._sync()
        elapsed = time.perf_counter() - self.started - self.paused_seconds
        return self.steps / elapsed if elapsed > 0 else None
