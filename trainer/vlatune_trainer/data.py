"""Turning package samples into model batches: images (resized, augmented for training), word
ids, normalized state and normalized action chunks with their padding mask."""

from __future__ import annotations

import io
import random
import signal
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from .normalize import Normalizer
from .package import Package, Sample, read_shard, with_history


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


CROP_AREA = 0.9
"""The share of each frame's area kept by the crop, as OpenVLA trains and evaluates."""

JITTER = (0.8, 1.2)
"""The range of the brightness, contrast and saturation factors drawn per training image."""

GRAY = torch.tensor([0.299, 0.587, 0.114])
"""ITU-R 601 luma weights, as Pillow converts RGB to grayscale."""


def decode(data: bytes) -> np.ndarray:
    """An encoded frame as height × width × 3 uint8 RGB."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB") if image.mode != "RGB" else image)


def cut(array: np.ndarray, window: tuple[int, int, int, int]) -> np.ndarray:
    """The ``(top, left, height, width)`` window of a height × width × 3 frame."""
    top, left, height, width = window
    return array[top : top + height, left : left + width]


def load_images(frames: Sequence[bytes], size: int, rng: random.Random | None) -> torch.Tensor:
    """Decodes a batch of frames into an N × 3 × ``size`` × ``size`` uint8 tensor (RGB).

    Each frame is cropped to 90% of its area (a random place when ``rng`` is given, centred
    otherwise) and resized with Pillow's antialiased bilinear filter (torch's uint8 kernel,
    within one level of Pillow's). Training frames then get random brightness, contrast and
    saturation factors in [0.8, 1.2], Pillow ``ImageEnhance``'s three blends in that order;
    they compose into one affine colour map per frame (``jitter``), applied to the whole batch
    at once, clipped once and rounded back to 8 bits. ``rng`` draws, per frame in order: crop
    left, crop top, the three factors, so a batch's augmentation depends only on its seed.

    Batches stay 8-bit until the training step (``pixels``): a worker hands the training
    process a quarter of the bytes, and a GPU receives a quarter of them.
    """
    arrays = [decode(data) for data in frames]
    scale = CROP_AREA**0.5
    windows: list[tuple[int, int, int, int]] = []
    factors = np.ones((len(arrays), 3), dtype=np.float32)
    for index, array in enumerate(arrays):
        height, width = array.shape[:2]
        crop_h, crop_w = round(height * scale), round(width * scale)
        if rng is None:
            left, top = (width - crop_w) // 2, (height - crop_h) // 2
        else:
            left, top = rng.randint(0, width - crop_w), rng.randint(0, height - crop_h)
            factors[index] = [rng.uniform(*JITTER) for _ in range(3)]
        windows.append((top, left, crop_h, crop_w))
    groups: dict[tuple[int, int], list[int]] = {}
    for index, (_, _, crop_h, crop_w) in enumerate(windows):
        groups.setdefault((crop_h, crop_w), []).append(index)
    levels = torch.empty((len(arrays), size, size, 3), dtype=torch.uint8)
    for indices in groups.values():
        crops = np.stack([cut(arrays[i], windows[i]) for i in indices])
        # N × H × W × 3 viewed as channels-last N × 3 × H × W: torch's uint8 antialiased
        # bilinear kernel (the one made to match Pillow) runs on exactly this layout.
        resized = torch.nn.functional.interpolate(
            torch.from_numpy(crops).permute(0, 3, 1, 2),
            size=(size, size),
            mode="bilinear",
            antialias=True,
            align_corners=False,
        ).permute(0, 2, 3, 1)
        if len(groups) == 1:
            levels = resized
        else:
            levels[indices] = resized
    if rng is not None:
        jittered = jitter(levels.float(), torch.from_numpy(factors), white=255)
        levels = jittered.add_(0.5).to(torch.uint8)
    return levels.permute(0, 3, 1, 2)


def pixels(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A batch's uint8 images as floats in [0, 1] on ``device`` (converted there)."""
    if images.dtype != torch.uint8:
        raise TypeError(f"batch images must be uint8 (load_images), got {images.dtype}")
    return images.to(device, non_blocking=True).float().div_(255)


def jitter(levels: torch.Tensor, factors: torch.Tensor, white: float = 1.0) -> torch.Tensor:
    """Brightness b, contrast c and saturation s (N × 3 ``factors``) applied to N × H × W × 3
    ``levels`` in [0, ``white``], as Pillow's enhancements compose without their intermediate
    clipping: ``b · (c · (s·x + (1−s)·gray(x)) + (1−c)·mean(gray(x)))``, clipped to
    [0, ``white``]. Computed as ``α·x + β·gray(x) + γ`` per frame: two passes over the pixels
    besides the grayscale product, where a 3 × 3 matrix product per pixel took three times as
    long."""
    bright, contrast, saturation = factors[:, 0], factors[:, 1], factors[:, 2]
    gray = levels @ GRAY.to(levels)
    mean = gray.mean(dim=(1, 2))
    alpha = (bright * contrast * saturation).view(-1, 1, 1, 1)
    beta = (bright * contrast * (1 - saturation)).view(-1, 1, 1)
    gamma = (bright * (1 - contrast) * mean).view(-1, 1, 1)
    shift = torch.addcmul(gamma, gray, beta).unsqueeze_(-1)
    return torch.addcmul(shift, levels, alpha).clamp_(0, white)


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
        words, states, chunks, masks, steps = [], [], [], [], []
        instructions: list[str] = []
        cameras = self.spec.cameras
        images = load_images(
            [sample.images[c] for sample in samples for c in cameras], self.spec.image_size, rng
        )
        for sample in samples:
            episode = self.offsets[sample.meta["episode"]]
            step = sample.meta["step"]
            row = episode.offset + step
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
            "images": images.reshape(len(samples), len(cameras), *images.shape[1:]),
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
    which makes resumed runs see exactly the batches an uninterrupted run would. ``prepare``
    (``BuiltModel.prepare``) adds each batch's model inputs under ``model_inputs``, computed
    where the batch is built: in a worker (in the training process with no workers).
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
        prepare: Callable[[dict[str, Any]], dict[str, torch.Tensor]] | None = None,
    ) -> None:
        super().__init__()
        self.prepare = prepare
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
            depth = getattr(self.batcher, "history", 0)
            for shard in mine:
                for sample in with_history(read_shard(shard, decode_images=True), depth):
                    buffer.append(sample)
                    if len(buffer) < self.buffer:
                        continue
                    pending.append(buffer.pop(rng.randrange(len(buffer))))
                    if len(pending) == self.batch_size:
                        if produced >= skip:
                            yield self.batch(pending, worker, produced)
                        produced += 1
                        pending = []
            rng.shuffle(buffer)
            for sample in buffer:
                pending.append(sample)
                if len(pending) == self.batch_size:
                    if produced >= skip:
                        yield self.batch(pending, worker, produced)
                    produced += 1
                    pending = []
            epoch += 1

    def batch(self, samples: list[Sample], worker: int, produced: int) -> dict[str, Any]:
        batch = self.batcher(samples, self.augmentation(worker, produced))
        if self.prepare is not None:
            batch["model_inputs"] = self.prepare(batch)
            # The step reads the prepared pixels; the frames need not cross to the trainer.
            del batch["images"]
        return batch

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


def validation_batches(
    package: Package, batcher: Batcher, batch_size: int
) -> Iterator[dict[str, torch.Tensor]]:
    """One pass over the validation split in order, without augmentation."""
    pending: list[Sample] = []
    depth = getattr(batcher, "history", 0)
    for shard in package.shards("val"):
        for sample in with_history(read_shard(shard), depth):
            pending.append(sample)
            if len(pending) == batch_size:
                yield batcher(pending, None)
                pending = []
    if pending:
        yield batcher(pending, None)
