#!/usr/bin/env python3
"""Write a small, learnable robot dataset in vlatune's `episodes` source format.

The task is a top-down tabletop reach-and-grasp: a few coloured blocks stand on a table, the
instruction names one of them ("pick up the red block"), and a gripper moves to it (a saturated
proportional controller), closes and lifts. Each step records a 7-dim action
(dx, dy, dz, droll, dpitch, dyaw, gripper; gripper 1 = open, 0 = closed, as OpenVLA), an 8-dim
state (x, y, z, roll, pitch, yaw, two finger widths), and real JPEG frames from a `front` camera
(whole table) and a `wrist` camera (a zoomed view around the gripper). Which block to reach
depends on the instruction and the image, so a model must use both.

Deterministic for a given --seed. Needs numpy and Pillow.

    python examples/make_sample_dataset.py --out /tmp/pick-blocks --episodes 40
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 180, 60),
    "blue": (40, 80, 220),
    "yellow": (230, 200, 40),
    "purple": (150, 60, 190),
    "orange": (240, 140, 30),
}
TABLE = (150, 120, 90)
FPS = 10
GAIN = 0.3
MAX_SPEED = 0.05
SLOTS = (0.2, 0.5, 0.8)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="output directory (created)")
    parser.add_argument("--episodes", type=int, default=40, help="number of episodes")
    parser.add_argument("--steps", type=int, default=40, help="steps per episode (at least 10)")
    parser.add_argument("--image-size", type=int, default=96, help="square frame size in pixels")
    parser.add_argument("--colours", default="red,green,blue", help="block colours to use")
    parser.add_argument(
        "--blocks", type=int, default=3, choices=(1, 2, 3), help="blocks on the table per episode"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality")
    parser.add_argument(
        "--texture", type=float, default=0.0, help="table texture noise (0-1); larger files"
    )
    return parser.parse_args()


def render(
    size: int,
    blocks: list[tuple[str, np.ndarray]],
    gripper: np.ndarray,
    closed: float,
    texture: np.ndarray | None,
    zoom: float,
) -> Image.Image:
    """Draws the table from above; `zoom` > 1 gives the wrist view centred on the gripper."""
    image = Image.new("RGB", (size, size), TABLE)
    if texture is not None:
        image = Image.fromarray(texture)
    draw = ImageDraw.Draw(image)
    centre = gripper[:2] if zoom > 1 else np.array([0.5, 0.5])

    def to_pixels(point: np.ndarray) -> tuple[float, float]:
        local = (point - centre) * zoom + 0.5
        return float(local[0] * size), float(local[1] * size)

    half = 0.05 * zoom * size
    for colour, position in blocks:
        x, y = to_pixels(position)
        draw.rectangle([x - half, y - half, x + half, y + half], fill=COLOURS[colour])
    x, y = to_pixels(gripper[:2])
    radius = (0.035 + 0.02 * gripper[2]) * zoom * size
    opening = radius * (1.0 - 0.6 * closed)
    draw.ellipse([x - radius, y - radius, x + radius, y + radius], outline=(30, 30, 30), width=2)
    draw.line([x - opening, y, x + opening, y], fill=(30, 30, 30), width=2)
    return image


def episode(
    rng: np.random.Generator, args: argparse.Namespace, colours: list[str], out: Path
) -> None:
    size = args.image_size
    chosen = list(rng.choice(colours, size=min(args.blocks, len(colours)), replace=False))
    # Blocks stand in three places across the far side of the table (which colour stands where
    # is random), so reaching the named one is a left / middle / right decision the image and
    # the words settle together; small jitter keeps every frame different.
    slots = rng.permutation(len(SLOTS))[: len(chosen)]
    positions = [
        np.array([SLOTS[i] + rng.uniform(-0.03, 0.03), rng.uniform(0.2, 0.45)]) for i in slots
    ]
    blocks = list(zip(chosen, positions, strict=True))
    target_colour, target = blocks[int(rng.integers(len(blocks)))]
    texture = None
    if args.texture > 0:
        noise = rng.normal(0, 60 * args.texture, size=(size, size, 3))
        texture = np.clip(np.array(TABLE) + noise, 0, 255).astype(np.uint8)

    out.mkdir(parents=True)
    (out / "front").mkdir()
    (out / "wrist").mkdir()
    meta = {
        "instruction": f"pick up the {target_colour} block",
        "fps": FPS,
        "cameras": ["front", "wrist"],
    }
    (out / "meta.json").write_text(json.dumps(meta) + "\n")

    position = np.array([rng.uniform(0.35, 0.65), rng.uniform(0.85, 0.95), 1.0])
    orientation = rng.normal(0, 0.05, size=3)
    closed = 0.0
    reach_steps = max(args.steps * 2 // 3, 5)
    lines: list[str] = []
    for step in range(args.steps):
        if step < reach_steps:
            # A proportional controller toward the named block, saturated at MAX_SPEED: the action
            # depends only on where the gripper and that block are, so a policy can infer it from
            # the image and the words.
            planar = GAIN * (target - position[:2])
            speed = float(np.linalg.norm(planar))
            if speed > MAX_SPEED:
                planar = planar / speed * MAX_SPEED
            delta = np.array([*planar, max(-0.1, -position[2])])
            gripper_command = 1.0
        elif step < reach_steps + 2:
            delta = np.zeros(3)
            gripper_command = 0.0
        else:
            delta = np.array([0.0, 0.0, 0.08])
            gripper_command = 0.0
        delta = delta + rng.normal(0, 0.004, size=3)
        rotation = rng.normal(0, 0.01, size=3)
        action = [*map(float, delta), *map(float, rotation), gripper_command]
        finger = 0.04 * (1.0 - closed)
        state = [*map(float, position), *map(float, orientation), finger, finger]

        name = f"{step:06d}.jpg"
        front = render(size, blocks, position, closed, texture, 1.0)
        wrist = render(size, blocks, position, closed, texture, 2.5)
        front.save(out / "front" / name, quality=args.quality)
        wrist.save(out / "wrist" / name, quality=args.quality)
        lines.append(
            json.dumps(
                {
                    "action": [round(v, 6) for v in action],
                    "state": [round(v, 6) for v in state],
                    "timestamp": round(step / FPS, 6),
                    "images": {"front": f"front/{name}", "wrist": f"wrist/{name}"},
                }
            )
        )
        position = position + delta
        if step >= reach_steps:
            # Once grasped, the block rides with the gripper.
            blocks = [(c, position[:2].copy() if c == target_colour else p) for c, p in blocks]
        orientation = orientation + rotation
        closed = min(1.0, closed + 0.5) if gripper_command == 0.0 else max(0.0, closed - 0.5)
    (out / "steps.jsonl").write_text("\n".join(lines) + "\n")


def main() -> None:
    args = parse_args()
    if args.steps < 10:
        raise SystemExit("--steps must be at least 10")
    colours = [c.strip() for c in args.colours.split(",") if c.strip()]
    unknown = [c for c in colours if c not in COLOURS]
    if unknown:
        raise SystemExit(f"unknown colours {unknown}; known: {', '.join(COLOURS)}")
    if args.out.exists():
        raise SystemExit(f"{args.out} exists; remove it or choose another --out")
    rng = np.random.default_rng(args.seed)
    digits = max(3, math.ceil(math.log10(max(args.episodes, 2))))
    for index in range(args.episodes):
        episode(rng, args, colours, args.out / f"episode_{index:0{digits}d}")
    print(f"wrote {args.episodes} episodes to {args.out}")


if __name__ == "__main__":
    main()
