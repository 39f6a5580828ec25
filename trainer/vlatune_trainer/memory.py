"""Peak GPU memory of a run, as the trainer reports it in its ``completed`` event."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


class PeakMemory:
    """The most memory the run's tensors held on its GPU (``max_memory_allocated``), with the
    training steps kept apart from evaluation: ``job start``'s estimate models a training step
    at ``batch_size``, while evaluation runs at batch 64 without gradients. The peak counters
    are read and reset around each evaluation. What PyTorch's caching allocator reserved is
    reported for the whole run (its cached blocks serve both). Nothing on CPU.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.cuda = device.type == "cuda"
        self.training = 0
        self.evaluation = 0
        self.reserved = 0

    def _take(self) -> int:
        """The allocated peak since the last reset (the reserved one folded in), then reset."""
        allocated = int(torch.cuda.max_memory_allocated(self.device))
        self.reserved = max(self.reserved, int(torch.cuda.max_memory_reserved(self.device)))
        torch.cuda.reset_peak_memory_stats(self.device)
        return allocated

    @contextmanager
    def evaluating(self) -> Iterator[None]:
        """Memory used inside this block counts as evaluation, not training."""
        if not self.cuda:
            yield
            return
        self.training = max(self.training, self._take())
        try:
            yield
        finally:
            self.evaluation = max(self.evaluation, self._take())

    def report(self) -> dict[str, int]:
        """``completed``'s fields: training and evaluation peaks, and the reserved peak."""
        if not self.cuda:
            return {}
        self.training = max(self.training, self._take())
        return {
            "peak_gpu_memory_bytes": self.training,
            "peak_gpu_memory_eval_bytes": self.evaluation,
            "peak_gpu_memory_reserved_bytes": self.reserved,
        }
