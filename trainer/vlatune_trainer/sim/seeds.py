"""Episode seeds: demonstrations and evaluations draw from disjoint ranges, so no evaluation
episode repeats a demonstration's task variation, and one evaluation seed gives every adapter
the same episodes.

    demonstrations:  seed × 100 000 + i                  (0 ≤ seed < 10 000)
    evaluation:      1 000 000 000 + seed × 100 000 + i
"""

from __future__ import annotations

from .base import SimError

EVALUATION_OFFSET = 1_000_000_000
STRIDE = 100_000
MAX_SEED = 10_000


def _check(seed: int, episodes: int) -> None:
    if not 0 <= seed < MAX_SEED:
        raise SimError(64, f"seed must be in [0, {MAX_SEED - 1}], got {seed}")
    if not 1 <= episodes <= STRIDE:
        raise SimError(64, f"episodes must be in [1, {STRIDE}], got {episodes}")


def demonstration_seeds(seed: int, episodes: int) -> list[int]:
    """The episode seeds of a demonstration set."""
    _check(seed, episodes)
    return [seed * STRIDE + i for i in range(episodes)]


def evaluation_seeds(seed: int, episodes: int) -> list[int]:
    """The episode seeds of an evaluation."""
    _check(seed, episodes)
    return [EVALUATION_OFFSET + seed * STRIDE + i for i in range(episodes)]
