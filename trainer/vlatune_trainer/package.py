"""Reading a vlatune dataset package: manifest, statistics, episodes, trajectories and shards."""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import TrainerError


@dataclass(frozen=True)
class Episode:
    index: int
    name: str
    split: str
    steps: int
    offset: int
    instruction: str


@dataclass
class Sample:
    """One step read from a shard: its JSON and the encoded images by camera."""

    key: str
    meta: dict
    images: dict[str, bytes]
    history: list[dict[str, bytes]] = field(default_factory=list)
    """The frames of the episode's previous steps, newest first, when a policy reads an
    observation history (``lerobot_batches.with_history``)."""


class Package:
    """A prepared dataset package (see vlatune's docs/dataset-format.md)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.manifest = json.loads((self.path / "manifest.json").read_text())
            statistics = json.loads((self.path / "dataset_statistics.json").read_text())
        except (OSError, ValueError) as error:
            raise TrainerError(
                "data_error", f"cannot read the package at {self.path}: {error}"
            ) from error
        self.name: str = self.manifest["name"]
        if list(statistics) != [self.name]:
            raise TrainerError(
                "data_error", f"dataset_statistics.json must have one key, {self.name}"
            )
        self.statistics_document = statistics
        self.statistics = statistics[self.name]
        self.episodes = [
            Episode(
                **{k: line[k] for k in ("index", "name", "split", "steps", "offset", "instruction")}
            )
            for line in map(json.loads, (self.path / "episodes.jsonl").read_text().splitlines())
        ]
        self.action_dim: int = self.manifest["action_dim"]
        self.state_dim: int = self.manifest["state_dim"]
        self.cameras: list[str] = [c["key"] for c in self.manifest["cameras"]]
        steps = self.manifest["steps"]
        self.actions = self._trajectory("action", steps, self.action_dim)
        self.states = self._trajectory("state", steps, self.state_dim)

    def _trajectory(self, field: str, steps: int, dim: int) -> np.ndarray:
        data = np.fromfile(self.path / "trajectories" / f"{field}.f32", dtype="<f4")
        if data.size != steps * dim:
            raise TrainerError(
                "data_error",
                f"trajectories/{field}.f32 has {data.size} values, expected {steps * dim}",
            )
        return data.reshape(steps, dim)

    def shards(self, split: str) -> list[Path]:
        return [self.path / s["path"] for s in self.manifest["shards"] if s["split"] == split]

    def samples(self, split: str) -> int:
        return sum(s["samples"] for s in self.manifest["shards"] if s["split"] == split)

    def verify(self) -> None:
        """Checks every shard's SHA-256 against the manifest (before first use)."""
        for shard in self.manifest["shards"]:
            digest = hashlib.sha256()
            try:
                with (self.path / shard["path"]).open("rb") as handle:
                    for block in iter(lambda handle=handle: handle.read(1 << 20), b""):
                        digest.update(block)
            except OSError as error:
                raise TrainerError(
                    "data_error", f"cannot read shard {shard['path']}: {error}"
                ) from error
            if digest.hexdigest() != shard["sha256"]:
                raise TrainerError(
                    "data_error",
                    f"shard {shard['path']} does not match its checksum in manifest.json "
                    "(the package is damaged; prepare the dataset again)",
                )


def read_shard(path: Path, decode_images: bool = True) -> Iterator[Sample]:
    """Streams a WebDataset tar: files sharing a key prefix form one sample."""
    current: Sample | None = None
    with tarfile.open(path, "r|") as tar:
        for member in tar:
            if not member.isfile():
                continue
            name = member.name.rsplit("/", 1)[-1]
            key, _, extension = name.partition(".")
            if current is None or current.key != key:
                if current is not None:
                    yield current
                current = Sample(key=key, meta={}, images={})
            handle = tar.extractfile(member)
            data = handle.read() if handle else b""
            if extension == "json":
                current.meta = json.loads(data)
            elif decode_images:
                current.images[extension.split(".")[0]] = data
    if current is not None:
        yield current


def with_history(samples: Iterable[Sample], depth: int) -> Iterator[Sample]:
    """Attaches to each sample the frames of its episode's ``depth`` previous steps, newest
    first, as read just before it in the shard (``Sample.history``).

    Shards hold the steps of an episode in order, so the previous step of a sample is the
    previous sample unless the episode starts here (LeRobot then repeats the first frame) or
    the shard does (vlatune repeats the oldest frame it has: documented in docs/trainer.md)."""
    recent: list[Sample] = []
    for sample in samples:
        if depth > 0:
            episode = sample.meta.get("episode")
            same = [s for s in recent if s.meta.get("episode") == episode]
            frames = [s.images for s in reversed(same)][:depth]
            sample.history = frames
            recent = [*same, sample][-depth:]
        yield sample
