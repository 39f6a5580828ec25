"""Multi-process training under ``torchrun`` (one process per GPU, or several CPU processes with
gloo): rank 0 alone writes events, checkpoints, evaluations and the adapter; every rank trains on
its own stream of batches; stop and checkpoint requests are agreed on by all ranks each step, so
they all stop after the same step."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    """This process's place in the run (a single process is rank 0 of 1)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @classmethod
    def from_environment(cls) -> World:
        """Reads ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` as torchrun sets them and joins the
        process group: gloo, and on CUDA NCCL for CUDA tensors (the gradients) with gloo for
        CPU ones (``agree``'s flags: an NCCL all-reduce of a CPU tensor fails, and one of a
        CUDA tensor read back every step would make each step wait for the GPU)."""
        size = int(os.environ.get("WORLD_SIZE", "1"))
        if size <= 1:
            return cls()
        world = cls(int(os.environ["RANK"]), size, int(os.environ.get("LOCAL_RANK", "0")))
        backend = "gloo"
        if torch.cuda.is_available():  # pragma: no cover - needs GPUs
            torch.cuda.set_device(world.local_rank)
            backend = "cpu:gloo,cuda:nccl"
        dist.init_process_group(backend=backend)
        return world

    def device(self, cuda: bool) -> torch.device:
        if cuda:  # pragma: no cover - needs a GPU
            return torch.device("cuda", self.local_rank)
        return torch.device("cpu")

    def wrap(self, module: torch.nn.Module) -> torch.nn.Module | None:
        """The DistributedDataParallel wrapper to train through, or ``None`` alone."""
        if not self.distributed:
            return None
        return torch.nn.parallel.DistributedDataParallel(module, broadcast_buffers=False)

    def agree(self, *flags: bool) -> tuple[bool, ...]:
        """Each flag is true on every rank if it is true on any rank."""
        if not self.distributed:
            return flags
        tensor = torch.tensor([float(f) for f in flags])
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return tuple(bool(v) for v in tensor.tolist())

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def close(self) -> None:
        if self.distributed and dist.is_initialized():
            dist.destroy_process_group()


class SilentEvents:
    """The event writer of ranks other than 0."""

    def emit(self, kind: str, **fields: Any) -> None:
        del kind, fields
