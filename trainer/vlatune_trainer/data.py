"""Turning package samples into model batches: images (resized, augmented for training), word
ids, normalized state and normalized action chunks with their padding mask."""

from __future__ import annotations

import io
import random
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageEnhance

from .normalize import Normalizer
from .package import Package, Sample, read_shard


def action_chunk(
    actions: np.ndarray, offset: int, steps: int, step: int, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """The next ``horizon`` actions of an episode from ``step`` on, zero-padded past its end,
    with a mask that is false on the padding."""
    end = min(step + horizon, steps)
    chunk = np.zeros((horizon, actions.shape[1]), dtype=np.float32)
    chunk[: end - step] = actions[offset + step : offset + end]
    mask = np.zeros(horizon, dtype=bool)
    mask[: end - step] = True
    return chunk, mask


def load_image(data: bytes, size: int, rng: random.Random | None) -> np.ndarray:
    """Decodes, crops 90% of the area (random place and jitter when ``rng`` is given, centred
    otherwise, as OpenVLA trains and evaluates) and resizes to ``size`` × ``size``."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    width, height = image.size
    scale = 0.9**0.5
    crop_w, crop_h = round(width * scale), round(height * scale)
    if rng is None:
        left, top = (width - crop_w) // 2, (height - crop_h) // 2
    else:
        left, top = rng.randint(0, width - crop_w), rng.randint(0, height - crop_h)
    image = image.crop((left, top, left + crop_w, top + crop_h)).resize(
        (size, size), Image.BILINEAR
    )
    if rng is not None:
        image = ImageEnhance.Brightness(image).enhance(rng.uniform(0.8, 1.2))
        image = ImageEnhance.Contrast(image).enhance(rng.uniform(0.8, 1.2))
        image = ImageEnhance.Color(image).enhance(rng.uniform(0.8, 1.2))
    return np.asarray(image, dtype=np.uint8)


@dataclass
class BatchSpec:
    """Everything needed to turn samples into tensors."""

    image_size: int
    cameras: list[str]
    chunk: int
    proprio: list[int]
    tokenize: Callable[[str], list[int]]


class Batcher:
    """Builds batches from samples, using the package's trajectories for action chunks."""

    def __init__(self, package: Package, spec: BatchSpec) -> None:
        self.package = package
        self.spec = spec
        self.actions = Normalizer(package.statistics["action"]).normalize(package.actions)
        state_stats = package.statistics["proprio"]
        if package.state_dim:
            self.states = Normalizer(state_stats, use_mask=False).normalize(package.states)
        else:
            self.states = np.zeros((len(package.actions), 0), dtype=np.float32)
        self.offsets = {e.index: e for e in package.episodes}

    def __call__(self, samples: list[Sample], rng: random.Random | None) -> dict[str, Any]:
        images, words, states, chunks, masks, steps = [], [], [], [], [], []
        instructions: list[str] = []
        for sample in samples:
            episode = self.offsets[sample.meta["episode"]]
            step = sample.meta["step"]
            row = episode.offset + step
            images.append(
                np.stack(
                    [
                        load_image(sample.images[c], self.spec.image_size, rng)
                        for c in self.spec.cameras
                    ]
                )
            )
            words.append(self.spec.tokenize(episode.instruction))
            instructions.append(episode.instruction)
            state = self.states[row]
            selected = [state[i] for i in self.spec.proprio] if self.spec.proprio else [0.0]
            states.append(np.asarray(selected, dtype=np.float32))
            chunk, mask = action_chunk(
                self.actions, episode.offset, episode.steps, step, self.spec.chunk
            )
            chunks.append(chunk)
            masks.append(mask)
            steps.append((episode.index, step))
        return {
            "images": torch.from_numpy(np.stack(images)).permute(0, 1, 4, 2, 3).float() / 255,
            "words": torch.tensor(words, dtype=torch.long),
            "state": torch.from_numpy(np.stack(states)),
            "actions": torch.from_numpy(np.stack(chunks)),
            "mask": torch.from_numpy(np.stack(masks)),
            "episode_step": torch.tensor(steps, dtype=torch.long),
            "instructions": instructions,
        }

    def actions_raw(self, batch: dict[str, torch.Tensor]) -> np.ndarray:
        """The un-normalized current action of every sample in a batch."""
        rows = [self.offsets[int(e)].offset + int(s) for e, s in batch["episode_step"].tolist()]
        return self.package.actions[rows]


class TrainStream(torch.utils.data.IterableDataset):
    """An endless, deterministic stream of training batches.

    Shards are shuffled per epoch and split across workers; each worker keeps a seeded shuffle
    buffer and assembles whole batches, so the DataLoader (``batch_size=None``) interleaves
    batches round-robin. ``start_batch`` skips already-consumed batches without decoding images,
    which makes resumed runs see exactly the batches an uninterrupted run would.
    """

    def __init__(
        self,
        package: Package,
        batcher: Batcher,
        batch_size: int,
        seed: int,
        buffer: int = 512,
        start_batch: int = 0,
        workers: int = 0,
    ) -> None:
        super().__init__()
        self.package = package
        self.batcher = batcher
        self.batch_size = batch_size
        self.seed = seed
        self.buffer = buffer
        self.start_batch = start_batch
        self.workers = max(workers, 1)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        info = torch.utils.data.get_worker_info()
        # The DataLoader asks its workers round-robin from worker 0; a run resumed at batch S
        # must get global batch S first, so DataLoader worker i plays the role of stream worker
        # (i + S) % workers, which owns the global batches congruent to it.
        worker = (info.id + self.start_batch) % self.workers if info else 0
        # Global batch b comes from worker b % workers as that worker's batch b // workers.
        skip = max(0, -(-(self.start_batch - worker) // self.workers))
        produced = 0
        epoch = 0
        shards = self.package.shards("train")
        while True:
            order = random.Random(f"{self.seed}-{epoch}").sample(shards, len(shards))
            mine = order[worker :: self.workers] if len(order) >= self.workers else order
            rng = random.Random(f"{self.seed}-{epoch}-{worker}")
            buffer: list[Sample] = []
            pending: list[Sample] = []
            for shard in mine:
                for sample in read_shard(shard, decode_images=True):
                    buffer.append(sample)
                    if len(buffer) < self.buffer:
                        continue
                    pending.append(buffer.pop(rng.randrange(len(buffer))))
                    if len(pending) == self.batch_size:
                        if produced >= skip:
                            yield self.batcher(pending, self.augmentation(worker, produced))
                        produced += 1
                        pending = []
            rng.shuffle(buffer)
            for sample in buffer:
                pending.append(sample)
                if len(pending) == self.batch_size:
                    if produced >= skip:
                        yield self.batcher(pending, self.augmentation(worker, produced))
                    produced += 1
                    pending = []
            epoch += 1

    def augmentation(self, worker: int, batch: int) -> random.Random:
        """A batch's own augmentation RNG, so skipped batches leave later ones unchanged."""
        return random.Random(f"{self.seed}-augment-{worker}-{batch}")


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


def validation_batches(
    package: Package, batcher: Batcher, batch_size: int
) -> Iterator[dict[str, torch.Tensor]]:
    """One pass over the validation split in order, without augmentation."""
    pending: list[Sample] = []
    for shard in package.shards("val"):
        for sample in read_shard(shard):
            pending.append(sample)
            if len(pending) == batch_size:
                yield batcher(pending, None)
                pending = []
    if pending:
        yield batcher(pending, None)
