"""What every simulated environment offers: tasks with instructions, seeded variations, camera
frames and proprioceptive state, a success signal and a scripted expert."""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np


class SimError(Exception):
    """A bad request (unknown environment, task or camera): one line and an exit status (64
    usage, 69 the simulator cannot run here), never a traceback."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Observation:
    """One step's observation: an RGB frame per camera (H × W × 3 uint8, upright) and the
    proprioceptive state."""

    images: dict[str, np.ndarray]
    state: np.ndarray


@dataclass
class StepResult:
    """What one action did."""

    observation: Observation
    success: bool


class Environment(abc.ABC):
    """One task of a simulator, rendered at a fixed size from named cameras."""

    #: The name ``--env`` takes.
    name: str = ""
    #: The frame rate recorded in demonstrations' ``meta.json``.
    fps: int = 10
    #: Cameras rendered when none are asked for.
    default_cameras: tuple[str, ...] = ()
    #: The action's length.
    action_dim: int = 0
    #: The proprioceptive state's length.
    state_dim: int = 0

    @classmethod
    @abc.abstractmethod
    def tasks(cls) -> dict[str, str]:
        """Every task's name and its instruction (natural language)."""

    @classmethod
    @abc.abstractmethod
    def cameras(cls) -> tuple[str, ...]:
        """Every camera a frame can come from."""

    @abc.abstractmethod
    def reset(self, seed: int) -> Observation:
        """Starts an episode in the task variation ``seed`` draws (the same seed, the same
        variation, on every machine)."""

    @abc.abstractmethod
    def step(self, action: np.ndarray) -> StepResult:
        """Applies one action."""

    @abc.abstractmethod
    def expert_action(self) -> np.ndarray:
        """The scripted expert's action for the current state."""

    @property
    @abc.abstractmethod
    def instruction(self) -> str:
        """The task's instruction."""

    def close(self) -> None:  # noqa: B027 - optional for environments that hold nothing
        """Releases the renderer."""
