"""Closed-loop rollouts: a policy acts in an environment from seeded variations, with action
chunking as it was trained (a chunk is predicted, its first ``horizon`` actions run, then the
policy looks again), and the episodes are summarised with a 95 % interval."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .base import Environment, Observation
from .video import write_video

#: A policy: the observation and the instruction in, an action chunk (H × A) out.
Actor = Callable[[Observation, str], np.ndarray]


@dataclass
class Episode:
    """One rollout's result."""

    index: int
    seed: int
    success: bool
    steps: int
    seconds: float
    video: str | None = None


@dataclass
class Summary:
    """The result so far: success rate with its Wilson 95 % interval, mean episode length
    (over all episodes, and over successful ones)."""

    episodes: int
    successes: int
    success_rate: float
    ci95_low: float
    ci95_high: float
    mean_episode_length: float
    mean_success_length: float | None

    def metrics(self) -> dict[str, float]:
        """The numbers the ``eval`` event carries."""
        values = {
            "success_rate": self.success_rate,
            "successes": float(self.successes),
            "episodes_done": float(self.episodes),
            "ci95_low": self.ci95_low,
            "ci95_high": self.ci95_high,
            "mean_episode_length": self.mean_episode_length,
        }
        if self.mean_success_length is not None:
            values["mean_success_length"] = self.mean_success_length
        return {key: round(value, 6) for key, value in values.items()}


def wilson_interval(successes: int, trials: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (sound at 0 and n successes, where
    the normal approximation collapses to a point)."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return round(max(0.0, centre - half), 6), round(min(1.0, centre + half), 6)


def summarise(episodes: list[Episode]) -> Summary:
    """The summary of the episodes so far."""
    successes = sum(e.success for e in episodes)
    low, high = wilson_interval(successes, len(episodes))
    lengths = [e.steps for e in episodes]
    winning = [e.steps for e in episodes if e.success]
    return Summary(
        episodes=len(episodes),
        successes=successes,
        success_rate=successes / len(episodes) if episodes else 0.0,
        ci95_low=low,
        ci95_high=high,
        mean_episode_length=float(np.mean(lengths)) if lengths else 0.0,
        mean_success_length=float(np.mean(winning)) if winning else None,
    )


def rollouts(
    env: Environment,
    actor: Actor,
    seeds: list[int],
    max_steps: int,
    horizon: int,
    videos: int = 0,
    video_dir: Path | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> Iterator[Episode]:
    """Runs one episode per seed, yielding each as it ends; the first ``videos`` episodes are
    recorded (the first camera's frames) to ``video_dir``. ``stop`` is asked before every
    action: a cancelled evaluation ends within one step (the unfinished episode is not
    counted)."""
    for index, seed in enumerate(seeds):
        started = time.monotonic()
        observation = env.reset(seed)
        recording = index < videos and video_dir is not None
        frames: list[np.ndarray] = []
        success = False
        steps = 0
        queue: list[np.ndarray] = []
        while steps < max_steps:
            if stop():
                return
            if recording:
                frames.append(next(iter(observation.images.values())))
            if not queue:
                chunk = np.asarray(actor(observation, env.instruction), dtype=np.float32)
                chunk = chunk.reshape(-1, chunk.shape[-1])
                queue = list(chunk[: max(1, horizon)])
            result = env.step(queue.pop(0))
            steps += 1
            observation = result.observation
            if result.success:
                success = True
                break
        video = None
        if recording and video_dir is not None:
            frames.append(next(iter(observation.images.values())))
            path = video_dir / f"episode_{index:03d}_{'success' if success else 'failure'}.mp4"
            if write_video(frames, path, fps=20):
                video = str(path)
        yield Episode(index, seed, success, steps, round(time.monotonic() - started, 3), video)


def episode_json(episode: Episode) -> dict[str, object]:
    """An episode as the results file lists it."""
    return {k: v for k, v in asdict(episode).items() if v is not None}
