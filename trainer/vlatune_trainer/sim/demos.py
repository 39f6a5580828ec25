"""Scripted-expert demonstrations from a simulator, in vlatune's ``episodes`` format.

    python -m vlatune_trainer.sim demos --env metaworld --task button-press-topdown-v3 \\
        --episodes 40 --out demos/ [--image-size 96] [--cameras corner2] [--seed 0]

Each episode runs the task's scripted expert from a variation its seed draws
(``seeds.demonstration_seeds``) until the simulator reports success or ``--max-steps``; only
successful episodes are written (the summary says how many were dropped). Several tasks
(``--task a,b``) make a language-conditioned set: episodes alternate between them and each
carries its task's instruction. Frames are JPEG (quality 90), as a camera recorder writes them.
"""

from __future__ import annotations

import io
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .base import Environment, SimError
from .seeds import demonstration_seeds


@dataclass
class DemoSummary:
    """What a run wrote."""

    written: int
    dropped: int
    steps: int
    seconds: float

    def to_json(self) -> dict[str, object]:
        attempted = self.written + self.dropped
        return {
            "episodes_written": self.written,
            "episodes_dropped": self.dropped,
            "expert_success_rate": self.written / attempted if attempted else 0.0,
            "steps": self.steps,
            "seconds": round(self.seconds, 2),
            "episodes_per_second": round(attempted / self.seconds, 3) if self.seconds else None,
        }


def jpeg(frame: np.ndarray, quality: int = 90) -> bytes:
    """A frame as JPEG bytes (what demonstrations store and evaluation feeds a policy)."""
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def write_demos(
    environments: list[Environment],
    out: Path,
    episodes: int,
    seed: int,
    max_steps: int,
    progress: bool = True,
) -> DemoSummary:
    """Runs the experts and writes the successful episodes under ``out`` (which must not
    exist: a half-written set is never mixed with an older one)."""
    if out.exists():
        raise SimError(64, f"--out {out} exists; remove it or choose another directory")
    staging = out.with_name(out.name + ".partial")
    if staging.exists():
        raise SimError(64, f"{staging} exists (an interrupted run?); remove it first")
    staging.mkdir(parents=True)
    digits = max(3, math.ceil(math.log10(max(episodes, 2))))
    started = time.monotonic()
    written = dropped = steps = 0
    for index, episode_seed in enumerate(demonstration_seeds(seed, episodes)):
        env = environments[index % len(environments)]
        frames: list[dict[str, bytes]] = []
        lines: list[dict[str, object]] = []
        observation = env.reset(episode_seed)
        success = False
        for step in range(max_steps):
            action = env.expert_action()
            frames.append({camera: jpeg(image) for camera, image in observation.images.items()})
            lines.append(
                {
                    "action": [round(float(v), 6) for v in action],
                    "state": [round(float(v), 6) for v in observation.state],
                    "timestamp": round(step / env.fps, 6),
                }
            )
            result = env.step(action)
            steps += 1
            observation = result.observation
            if result.success:
                success = True
                break
        if not success:
            dropped += 1
            continue
        directory = staging / f"episode_{index:0{digits}d}"
        for camera in observation.images:
            (directory / camera).mkdir(parents=True)
        for step, (line, images) in enumerate(zip(lines, frames, strict=True)):
            names = {camera: f"{camera}/{step:06d}.jpg" for camera in images}
            for camera, data in images.items():
                (directory / names[camera]).write_bytes(data)
            line["images"] = names
        meta = {
            "instruction": env.instruction,
            "fps": env.fps,
            "cameras": list(observation.images),
            "source": {"env": env.name, "task": getattr(env, "task", ""), "seed": episode_seed},
        }
        (directory / "meta.json").write_text(json.dumps(meta) + "\n")
        (directory / "steps.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
        written += 1
        if progress:
            print(
                f"episode {index + 1}/{episodes}: {len(lines)} steps, kept",
                file=sys.stderr,
                flush=True,
            )
    staging.rename(out)
    return DemoSummary(written, dropped, steps, time.monotonic() - started)
