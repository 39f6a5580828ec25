"""The DataLoader the trainer streams batches through, and its worker processes: started with
the stop signals blocked, detached from the trainer's process group, dying with their parent."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from .data import TrainStream

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGUSR1}


def start_workers(loader: torch.utils.data.DataLoader) -> Iterator[Any]:
    """``iter(loader)`` with the stop signals blocked while its worker processes are forked, so
    a cancel arriving in that instant reaches the training process (once unblocked) and never a
    worker that has not yet left the process group (see ``detach_worker``)."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        return iter(loader)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def training_loader(
    stream: TrainStream, workers: int, device: torch.device
) -> torch.utils.data.DataLoader:
    """The DataLoader the trainer streams ``stream`` through: ``workers`` processes (each
    prefetching 4 batches, detached from the trainer's process group) and, for a GPU,
    page-locked batches, so the copy to the device runs asynchronously (``non_blocking``).

    The loader draws its workers' base seed from a generator of its own: from the global one,
    ``iter(loader)`` would take a draw from torch's RNG after a resumed run restored it, and every
    model that samples during training (flow-matching noise and time in SmolVLA and pi0, ACT's
    VAE) would see other noise than the uninterrupted run."""
    return torch.utils.data.DataLoader(
        stream,
        batch_size=None,
        num_workers=workers,
        prefetch_factor=4 if workers else None,
        persistent_workers=False,
        worker_init_fn=detach_worker,
        pin_memory=device.type == "cuda",
        generator=torch.Generator().manual_seed(stream.seed),
    )


def detach_worker(_worker: int) -> None:
    """DataLoader ``worker_init_fn``: move the worker out of the trainer's process group.

    A cancel signals the trainer's whole process group; a worker that died of that SIGTERM took
    the run down before it could checkpoint, and a worker that ignored it could never be stopped
    at shutdown (the DataLoader ends its workers with SIGTERM). In a group of its own the worker
    keeps the default SIGTERM, the training process alone handles the cancel, and the worker
    still dies with its parent (parent-death signal, and torch's own watchdog). The worker starts
    with the stop signals blocked (``start_workers``); ignoring them first discards any that
    were sent to the group before it left."""
    import ctypes
    import os

    for number in STOP_SIGNALS:
        signal.signal(number, signal.SIG_IGN)
    os.setpgid(0, 0)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
