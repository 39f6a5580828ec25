"""PeakMemory keeps evaluation's peak apart from training's (a fake CUDA allocator stands in
for the GPU: its counters are what the test sets)."""

from __future__ import annotations

import pytest
import torch
from vlatune_trainer import memory
from vlatune_trainer.memory import PeakMemory, SavedActivations


class FakeAllocator:
    """torch.cuda's peak counters: current use, peaks since the last reset."""

    def __init__(self) -> None:
        self.allocated = self.peak = 0
        self.reserved = self.reserved_peak = 0

    def use(self, allocated: int, reserved: int | None = None) -> None:
        self.allocated = allocated
        self.peak = max(self.peak, allocated)
        self.reserved = max(self.reserved, reserved or allocated)
        self.reserved_peak = max(self.reserved_peak, self.reserved)

    def reset(self, _device: torch.device) -> None:
        self.peak, self.reserved_peak = self.allocated, self.reserved


@pytest.fixture
def gpu(monkeypatch: pytest.MonkeyPatch) -> FakeAllocator:
    fake = FakeAllocator()
    monkeypatch.setattr(memory.torch.cuda, "max_memory_allocated", lambda _d: fake.peak)
    monkeypatch.setattr(memory.torch.cuda, "max_memory_reserved", lambda _d: fake.reserved_peak)
    monkeypatch.setattr(memory.torch.cuda, "reset_peak_memory_stats", fake.reset)
    return fake


def test_evaluation_peaks_are_kept_apart_from_training(gpu: FakeAllocator) -> None:
    peaks = PeakMemory(torch.device("cuda", 0))
    gpu.use(100)  # weights
    gpu.use(700)  # a training step's activations
    gpu.use(100)
    with peaks.evaluating():
        gpu.use(1500, reserved=1600)  # batch 64
        gpu.use(100)
    gpu.use(650)  # later steps
    gpu.use(100)
    with peaks.evaluating():
        gpu.use(900)
        gpu.use(100)
    assert peaks.report() == {
        "peak_gpu_memory_bytes": 700,
        "peak_gpu_memory_eval_bytes": 1500,
        "peak_gpu_memory_reserved_bytes": 1600,
    }


def test_a_training_peak_after_the_last_evaluation_counts(gpu: FakeAllocator) -> None:
    peaks = PeakMemory(torch.device("cuda", 0))
    with peaks.evaluating():
        gpu.use(300)
        gpu.use(0)
    gpu.use(800)
    gpu.use(0)
    assert peaks.report()["peak_gpu_memory_bytes"] == 800


def test_nothing_is_reported_on_cpu() -> None:
    peaks = PeakMemory(torch.device("cpu"))
    with peaks.evaluating():
        pass
    assert peaks.report() == {}


def test_saved_activations_count_what_autograd_keeps_once_and_leave_the_weights_out() -> None:
    layer = torch.nn.Linear(8, 8, bias=False)
    layer.weight.requires_grad_(False)
    x = torch.randn(4, 8, requires_grad=True)
    saved = SavedActivations(layer)
    with saved.measuring():
        hidden = layer(x)  # keeps its weight (a parameter: left out)
        # sin and cos keep `hidden` (once); mul keeps both of their results.
        out = hidden.sin() * hidden.cos()
    assert saved.bytes == 3 * 4 * 8 * 4
    out.sum().backward()  # the hooks hand the same values back
    assert x.grad is not None
    assert torch.allclose(x.grad, (hidden.cos() ** 2 - hidden.sin() ** 2) @ layer.weight)
    without_grad = SavedActivations(layer)
    with torch.no_grad(), without_grad.measuring():
        layer(x).sin()
    assert without_grad.bytes == 0, "nothing is saved without autograd"
    outside = SavedActivations(layer)
    with outside.measuring():
        pass
    layer(x).sin()
    assert outside.bytes == 0, "only what runs inside the block counts"
