"""Turning package samples into model batches: images (``images``: resized, augmented for
training), word ids, normalized state and normalized action chunks with their padding mask; the
training stream and the validation pass. The DataLoader and its worker processes are in
``workers``."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .images import load_images
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
