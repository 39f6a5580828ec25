"""Batches in LeRobot's shape from a vlatune package: raw (un-normalized) state and action
windows at the policy's own time offsets, with ``action_is_pad`` past an episode's ends, and
camera frames resized to the policy's image shape. LeRobot's preprocessor normalizes them with
the statistics vlatune computed (``models/lerobot_policy.py``)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .images import decode
from .package import Package, Sample


def resize_frames(frames: Sequence[bytes], height: int, width: int) -> torch.Tensor:
    """Decodes frames into an N × 3 × ``height`` × ``width`` uint8 tensor (RGB), resized whole
    (no crop) with the antialiased bilinear filter; LeRobot policies crop and augment inside."""
    arrays = [decode(data) for data in frames]
    out = torch.empty((len(arrays), 3, height, width), dtype=torch.uint8)
    for index, array in enumerate(arrays):
        tensor = torch.from_numpy(np.array(array, dtype=np.uint8)).permute(2, 0, 1).unsqueeze(0)
        if tensor.shape[-2:] != (height, width):
            tensor = torch.nn.functional.interpolate(
                tensor, size=(height, width), mode="bilinear", antialias=True, align_corners=False
            )
        out[index] = tensor[0]
    return out


def past_frames(sample: Sample, back: int) -> dict[str, bytes]:
    """The frames ``back`` steps before ``sample`` (0: its own); the oldest frame at hand when
    the shard starts after the episode does."""
    if back == 0 or not sample.history:
        return sample.images
    return sample.history[min(back, len(sample.history)) - 1]


@dataclass(frozen=True)
class WindowSpec:
    """What a LeRobot policy reads per sample.

    ``observation_offsets`` is ``None`` for policies that see one step without a time axis
    (ACT, SmolVLA, pi0), else the offsets of the observation history (diffusion: [-1, 0]);
    ``action_offsets`` are the steps of the action target relative to the sample's step."""

    cameras: list[str]
    """The package camera feeding each image slot, in slot order."""
    image_shape: tuple[int, int]
    proprio: list[int]
    observation_offsets: list[int] | None
    action_offsets: list[int]


class LeRobotBatcher:
    """Builds LeRobot-shaped batches from samples (the ``Batcher`` interface the stream, the
    validation pass and the evaluator use)."""

    def __init__(self, package: Package, spec: WindowSpec) -> None:
        self.package = package
        self.spec = spec
        self.offsets = {e.index: e for e in package.episodes}
        past = [-o for o in (spec.observation_offsets or [0]) if o < 0]
        self.history = max(past, default=0)
        states = package.states if package.state_dim else np.zeros((len(package.actions), 0))
        self.states = states[:, spec.proprio].astype(np.float32)

    def __call__(self, samples: list[Sample], rng: random.Random | None) -> dict:
        del rng  # LeRobot policies augment inside (crop, colour jitter) or not at all
        observation = self.spec.observation_offsets
        steps = observation if observation is not None else [0]
        height, width = self.spec.image_shape
        frames: list[bytes] = []
        states, chunks, masks, keys = [], [], [], []
        for sample in samples:
            episode = self.offsets[sample.meta["episode"]]
            step = sample.meta["step"]
            for offset in steps:
                images = past_frames(sample, min(max(-offset, 0), step))
                frames.extend(images[camera] for camera in self.spec.cameras)
            rows = [episode.offset + min(max(step + o, 0), episode.steps - 1) for o in steps]
            states.append(self.states[rows])
            targets = [step + o for o in self.spec.action_offsets]
            clamped = [episode.offset + min(max(t, 0), episode.steps - 1) for t in targets]
            chunks.append(self.package.actions[clamped])
            masks.append([0 <= t < episode.steps for t in targets])
            keys.append((episode.index, step))
        pixels = resize_frames(frames, height, width).reshape(
            len(samples), len(steps), len(self.spec.cameras), 3, height, width
        )
        state = torch.from_numpy(np.stack(states).astype(np.float32))
        if observation is None:
            pixels, state = pixels[:, 0], state[:, 0]
        return {
            "images": pixels,
            "state": state,
            "actions": torch.from_numpy(np.stack(chunks).astype(np.float32)),
            "mask": torch.tensor(masks, dtype=torch.bool),
            "words": torch.zeros((len(samples), 1), dtype=torch.long),
            "episode_step": torch.tensor(keys, dtype=torch.long),
            "instructions": [self.offsets[s.meta["episode"]].instruction for s in samples],
        }

    def actions_raw(self, batch: dict[str, torch.Tensor]) -> np.ndarray:
        """The un-normalized current action of every sample in a batch."""
        rows = [self.offsets[int(e)].offset + int(s) for e, s in batch["episode_step"].tolist()]
        return self.package.actions[rows]
