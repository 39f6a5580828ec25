"""Memory of a run as the trainer reports it in its ``completed`` event: the peak GPU memory,
and what the first training forward kept for its backward pass."""

from __future__ import annotations

import itertools
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


class SavedActivations:
    """Bytes of the distinct tensor storages autograd saves for backward inside the block,
    the model's parameters and buffers left out (the bf16 copies autocast makes of frozen
    weights count: they are memory the step holds). Device-independent: a CUDA step saves the
    same tensors, so the number checks the memory estimate's activation term on any machine.
    Measured on the first micro-batch only (``completed``'s ``saved_activation_bytes``), and
    not under gradient checkpointing (its regions install saved-tensor hooks of their own,
    which take precedence inside them). Tensors without a storage (sparse, functorch
    wrappers) are not counted.
    """

    def __init__(self, model: torch.nn.Module) -> None:
        self.excluded = {
            tensor.untyped_storage().data_ptr()
            for tensor in itertools.chain(model.parameters(), model.buffers())
        }
        self.storages: dict[int, int] = {}

    def _pack(self, tensor: torch.Tensor) -> torch.Tensor:
        try:
            storage = tensor.untyped_storage()
        except (RuntimeError, NotImplementedError):
            return tensor.detach()
        if storage.data_ptr() not in self.excluded:
            self.storages[storage.data_ptr()] = storage.nbytes()
        # Detached: a saved output handed back as itself would hold its own grad_fn in a cycle.
        return tensor.detach()

    @contextmanager
    def measuring(self) -> Iterator[None]:
        """Saved tensors inside this block are counted."""
        with torch.autograd.graph.saved_tensors_hooks(self._pack, lambda tensor: tensor):
            yield

    @property
    def bytes(self) -> int:
        return sum(self.storages.values())
