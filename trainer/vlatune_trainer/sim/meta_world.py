"""Meta-World (MuJoCo, Sawyer arm): 50 manipulation tasks with scripted experts.

Rendered headless through Mesa: ``MUJOCO_GL`` when set, else EGL where an NVIDIA device exists
and OSMesa otherwise (Mesa's EGL has no device to offer on a machine without a GPU). Shadows
and multisampling are off (4-10x faster at 96 px, and nothing a 64-224 px policy sees).
Actions are Meta-World's own: (dx, dy, dz, gripper effort) in [-1, 1]; the state is the hand's
position and the gripper's opening (proprioception only: where the object is, the policy must
see). The ``corner`` cameras come out of MuJoCo upside down and are turned upright.
"""

from __future__ import annotations

import os
import pickle
import sys
import warnings
from typing import Any

import numpy as np

from .base import Environment, Observation, SimError, StepResult

# What Meta-World's scripted experts do, said the way an operator would ask for it.
INSTRUCTIONS: dict[str, str] = {
    "assembly-v3": "put the ring on the peg",
    "basketball-v3": "put the ball into the hoop",
    "bin-picking-v3": "move the cube from one bin to the other",
    "box-close-v3": "put the lid on the box",
    "button-press-topdown-v3": "press the button from the top",
    "button-press-topdown-wall-v3": "press the button behind the wall from the top",
    "button-press-v3": "press the button",
    "button-press-wall-v3": "press the button behind the wall",
    "coffee-button-v3": "press the button on the coffee machine",
    "coffee-pull-v3": "pull the mug away from the coffee machine",
    "coffee-push-v3": "push the mug under the coffee machine",
    "dial-turn-v3": "turn the dial",
    "disassemble-v3": "take the ring off the peg",
    "door-close-v3": "close the door",
    "door-lock-v3": "lock the door by turning the lock",
    "door-open-v3": "open the door",
    "door-unlock-v3": "unlock the door by turning the lock",
    "drawer-close-v3": "close the drawer",
    "drawer-open-v3": "open the drawer",
    "faucet-close-v3": "turn the faucet off",
    "faucet-open-v3": "turn the faucet on",
    "hammer-v3": "hammer the nail into the wall",
    "hand-insert-v3": "put the hand into the hole",
    "handle-press-side-v3": "press the handle down from the side",
    "handle-press-v3": "press the handle down",
    "handle-pull-side-v3": "pull the handle up from the side",
    "handle-pull-v3": "pull the handle up",
    "lever-pull-v3": "pull the lever up",
    "peg-insert-side-v3": "insert the peg into the hole from the side",
    "peg-unplug-side-v3": "unplug the peg from the side",
    "pick-out-of-hole-v3": "pick the peg out of the hole",
    "pick-place-v3": "pick up the puck and place it at the goal",
    "pick-place-wall-v3": "pick up the puck and place it at the goal behind the wall",
    "plate-slide-back-side-v3": "slide the plate back into the cabinet from the side",
    "plate-slide-back-v3": "slide the plate back into the cabinet",
    "plate-slide-side-v3": "slide the plate into the cabinet from the side",
    "plate-slide-v3": "slide the plate into the cabinet",
    "push-back-v3": "push the puck back to the goal",
    "push-v3": "push the puck to the goal",
    "push-wall-v3": "push the puck to the goal behind the wall",
    "reach-v3": "reach the goal position",
    "reach-wall-v3": "reach the goal position behind the wall",
    "shelf-place-v3": "place the puck on the shelf",
    "soccer-v3": "kick the ball into the goal",
    "stick-pull-v3": "pull the handle with the stick",
    "stick-push-v3": "push the handle with the stick",
    "sweep-into-v3": "sweep the puck into the hole",
    "sweep-v3": "sweep the puck off the table",
    "window-close-v3": "close the window",
    "window-open-v3": "open the window",
}

CAMERAS = ("corner", "corner2", "corner3", "topview", "behindGripper", "gripperPOV")


def _select_renderer() -> None:
    if "MUJOCO_GL" not in os.environ:
        os.environ["MUJOCO_GL"] = "egl" if os.path.exists("/dev/nvidia0") else "osmesa"
    os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])


def _import_metaworld() -> Any:
    _select_renderer()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import metaworld
            from metaworld.policies import ENV_POLICY_MAP
    except ImportError as error:
        raise SimError(
            69,
            f"Meta-World is not installed in this environment ({sys.executable}): "
            f"{error}; 'make venv' installs it (pip install metaworld==3.1.1)",
        ) from error
    return metaworld, ENV_POLICY_MAP


class MetaWorld(Environment):
    """One Meta-World task; a seed draws the object and goal positions (the task's
    ``rand_vec``) uniformly from the task's own range."""

    name = "metaworld"
    fps = 80  # 5 MuJoCo frames of 2.5 ms per action
    default_cameras = ("corner2",)
    action_dim = 4
    state_dim = 4
    #: Meta-World's own episode limit; ``--max-steps`` may lower it.
    max_episode_steps = 500
    #: Instances not yet closed (they share the process's GL context).
    _open = 0

    def __init__(self, task: str, image_size: int, cameras: tuple[str, ...]) -> None:
        if task not in INSTRUCTIONS:
            raise SimError(
                64,
                f"unknown metaworld task {task!r}; tasks: {', '.join(sorted(INSTRUCTIONS))}",
            )
        unknown = [camera for camera in cameras if camera not in CAMERAS]
        if unknown or not cameras:
            raise SimError(
                64,
                f"unknown metaworld camera {unknown[0] if unknown else '(none)'!r}; "
                f"cameras: {', '.join(CAMERAS)}",
            )
        metaworld, policies = _import_metaworld()
        self._metaworld = metaworld
        self.task = task
        self.image_size = image_size
        self.camera_names = cameras
        self._class = metaworld.env_dict.ALL_V3_ENVIRONMENTS[task]
        self._env = self._class(
            render_mode="rgb_array", camera_name=cameras[0], width=image_size, height=image_size
        )
        quality = self._env.model.vis.quality
        quality.offsamples = 0
        quality.shadowsize = 0
        self._env.max_path_length = self.max_episode_steps
        self._expert = policies[task]()
        self._obs: np.ndarray | None = None
        self._closed = False
        MetaWorld._open += 1

    @classmethod
    def tasks(cls) -> dict[str, str]:
        return dict(INSTRUCTIONS)

    @classmethod
    def cameras(cls) -> tuple[str, ...]:
        return CAMERAS

    @property
    def instruction(self) -> str:
        return INSTRUCTIONS[self.task]

    def variation(self, seed: int) -> np.ndarray:
        """The object/goal positions of a seed."""
        space = self._env._random_reset_space
        rng = np.random.default_rng(seed)
        return rng.uniform(space.low, space.high).astype(np.float64)

    def reset(self, seed: int) -> Observation:
        data = {
            "rand_vec": self.variation(seed),
            "env_cls": self._class,
            "partially_observable": True,
        }
        self._env.set_task(self._metaworld.Task(env_name=self.task, data=pickle.dumps(data)))
        self._obs, _ = self._env.reset()
        return self._observe()

    def step(self, action: np.ndarray) -> StepResult:
        clipped = np.clip(np.asarray(action, dtype=np.float32)[: self.action_dim], -1.0, 1.0)
        self._obs, _, _, _, info = self._env.step(clipped)
        return StepResult(self._observe(), bool(info.get("success", 0.0) > 0.5))

    def expert_action(self) -> np.ndarray:
        assert self._obs is not None, "reset first"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Constant(s) may be too high": it clips
            action = self._expert.get_action(self._obs)
        return np.clip(np.asarray(action, dtype=np.float32), -1.0, 1.0)

    def _observe(self) -> Observation:
        assert self._obs is not None
        images: dict[str, np.ndarray] = {}
        renderer = self._env.mujoco_renderer
        for camera in self.camera_names:
            renderer.camera_id = self._env.model.camera(camera).id
            frame = renderer.render("rgb_array")
            if camera.startswith("corner"):
                frame = frame[::-1, ::-1]
            images[camera] = np.ascontiguousarray(frame)
        return Observation(images=images, state=self._obs[:4].astype(np.float32))

    def close(self) -> None:
        # MuJoCo's offscreen renderers in one process share the GL context: closing one makes
        # the others render black frames. The last one open releases it.
        if self._closed:
            return
        self._closed = True
        MetaWorld._open -= 1
        if MetaWorld._open == 0:
            self._env.close()
