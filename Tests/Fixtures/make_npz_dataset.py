"""Write a small synthetic folder of per-episode NumPy simulator dumps (`episode_000.npz`, ...).

The fixtures exist so that vlatune's npz dataset support can be tested against the dumps that
simulator rollouts (gym-style `collect.py` scripts) leave behind: one `np.savez` (or
`np.savez_compressed`) per episode holding the actions, a state array and one uint8 image array
per camera, and a `meta.json` beside them with the instruction and the control frequency.

Usage (`python make_npz_dataset.py --help` lists every flag):

    make_npz_dataset.py --out DIR [--episodes 3] [--steps-min 8 --steps-max 14]
        [--action-dim 7] [--state-dim 8] [--action-key actions] [--state-key state]
        [--cameras front,wrist|none] [--image-size 32x24] [--extra-last-frame]
        [--meta none|instruction|full] [--instruction TEXT] [--fps 20]
        [--extra-array NAME ...] [--compressed] [--seed 0] [--expect OUT.json] [--force]

Each `episode_NNN.npz` holds `ACTION_KEY` (T, A) float32, `STATE_KEY` (T, S) float64 (none with
`--state-dim 0`), one (T, H, W, 3) uint8 array per camera, named as the camera -- (T+1, H, W, 3)
with `--extra-last-frame`, the observation after the last action as gym-style rollouts record
it -- and each `--extra-array NAME` as a (T, 2) float64 array a reader should ignore unless asked
for it. `--meta full` writes `meta.json` = {"instruction": TEXT, "fps": FPS}, `--meta
instruction` only the instruction, `--meta none` no meta.json. Actions and states depend only on
`--seed` and the sizes, not on the cameras, extras or `--extra-last-frame`.

`--expect OUT.json` writes what a correct reader must produce, read back with `np.load` from the
written files (not from the in-memory arrays). Its key names follow `make_hdf5_dataset.py`'s
where they mean the same (`files`, `cameras`, `image_sizes`, `action_dim`, `state_dim`,
`instruction`, `total`, `episodes` -- the per-episode list with `name`, `length`, `actions`,
`states`, `image_sha256_raw`, `image_cell_means`), plus `episode_count`, `lengths`, `fps`,
`action_mean` / `action_min` / `action_max` / `state_mean` (per dimension, float64, over every
step of every episode), `frames` (camera -> frames stored per episode: T or T+1) and
`extra_last_frame`. `image_sha256_raw` and `image_cell_means` cover the T frames a reader keeps
(one per step); with `--extra-last-frame` the dropped last one is in `final_frame_cell_means`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from fixture_media import frame_cell_means, make_frames, positive

FloatArray = npt.NDArray[np.float64]
Json = dict[str, Any]

META_MODES = ("none", "instruction", "full")
DEFAULT_INSTRUCTION = "stack the green block on the red block"
META_FILE = "meta.json"
FILE_PATTERN = re.compile(r"episode_(\d+)\.npz")
EXTRA_WIDTH = 2  # --extra-array rows


# --------------------------------------------------------------------------- options


@dataclass(frozen=True)
class Options:
    out: Path
    episodes: int
    steps_min: int
    steps_max: int
    action_dim: int
    state_dim: int
    action_key: str
    state_key: str
    cameras: tuple[str, ...]
    image_height: int
    image_width: int
    extra_last_frame: bool
    meta: str
    instruction: str
    fps: int
    extra_arrays: tuple[str, ...]
    compressed: bool
    seed: int
    expect: Path | None
    force: bool

    def file_name(self, episode: int) -> str:
        digits = max(3, len(str(self.episodes - 1)))
        return f"episode_{episode:0{digits}d}.npz"


# --------------------------------------------------------------------------- synthesis


def smooth(rng: np.random.Generator, n: int, dim: int, scale: float) -> FloatArray:
    t = np.arange(n, dtype=np.float64)[:, None]
    phase = rng.uniform(0, 2 * np.pi, size=dim)
    freq = rng.uniform(0.1, 0.4, size=dim)
    return rng.uniform(-scale, scale, size=dim) + scale * np.sin(phase + freq * t)


def episode_arrays(
    opts: Options, episode: int, n: int, rng: np.random.Generator, extra_rng: np.random.Generator
) -> dict[str, npt.NDArray[Any]]:
    """The arrays of one episode file, in the order they are stored."""
    actions = np.clip(smooth(rng, n, opts.action_dim, 0.5), -1.0, 1.0)
    if opts.action_dim > 1:  # last dimension a -1 open / +1 close gripper
        close_at = int(rng.integers(1, n))
        actions[:, -1] = np.where(np.arange(n) < close_at, -1.0, 1.0)
    arrays: dict[str, npt.NDArray[Any]] = {opts.action_key: actions.astype(np.float32)}
    state = smooth(rng, n, max(opts.state_dim, 1), 0.8)  # drawn either way: same actions
    if opts.state_dim > 0:
        arrays[opts.state_key] = state
    frames = n + 1 if opts.extra_last_frame else n
    for cam, key in enumerate(opts.cameras):
        arrays[key] = make_frames(opts.image_height, opts.image_width, episode, cam, frames)
    for name in opts.extra_arrays:
        arrays[name] = extra_rng.normal(0.0, 1.0, size=(n, EXTRA_WIDTH))
    return arrays


def write_dataset(opts: Options) -> None:
    rng = np.random.default_rng(opts.seed)
    extra_rng = np.random.default_rng([opts.seed, 1])  # extras never shift the main draws
    lengths = [int(v) for v in rng.integers(opts.steps_min, opts.steps_max + 1, opts.episodes)]
    save = np.savez_compressed if opts.compressed else np.savez
    for episode, n in enumerate(lengths):
        arrays = episode_arrays(opts, episode, n, rng, extra_rng)
        save(opts.out / opts.file_name(episode), allow_pickle=False, **arrays)
    if opts.meta != "none":
        meta: Json = {"instruction": opts.instruction}
        if opts.meta == "full":
            meta["fps"] = opts.fps
        (opts.out / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")


# --------------------------------------------------------------------------- expectations


def column_stats(rows: list[FloatArray], name: str) -> list[float]:
    stacked = np.concatenate(rows).astype(np.float64)
    if name == "mean":
        return [float(v) for v in stacked.mean(axis=0)]
    if name == "min":
        return [float(v) for v in stacked.min(axis=0)]
    return [float(v) for v in stacked.max(axis=0)]


def number(path: Path) -> int:
    """The episode number of `episode_NNN.npz` (files sort by it, not by name)."""
    match = FILE_PATTERN.fullmatch(path.name)
    if match is None:
        raise SystemExit(f"internal error: {path.name} is not an episode file")
    return int(match.group(1))


def read_expectations(opts: Options) -> Json:
    """What a correct reader must produce, read back from the written files with `np.load`."""
    files = sorted((p for p in opts.out.iterdir() if FILE_PATTERN.fullmatch(p.name)), key=number)
    meta_path = opts.out / META_FILE
    meta: Json = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    image_keys = set(opts.cameras)
    episodes: list[Json] = []
    all_actions: list[FloatArray] = []
    all_states: list[FloatArray] = []
    cameras: list[str] = []
    sizes: dict[str, list[int]] = {}
    frames_stored: dict[str, list[int]] = {}
    for path in files:
        with np.load(path, allow_pickle=False) as npz:
            names = list(npz.files)
            arrays = {name: npz[name] for name in names}
        actions = arrays[opts.action_key]
        n = int(actions.shape[0])
        states = arrays.get(opts.state_key)
        if actions.dtype != np.float32 or actions.ndim != 2:
            raise SystemExit(f"internal error: {path.name}:{opts.action_key} {actions.dtype}")
        cameras = [k for k in names if k in image_keys]
        entry: Json = {
            "name": path.stem,
            "file": path.name,
            "length": n,
            "arrays": {
                k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in arrays.items()
            },
            "actions": actions.astype(np.float64).tolist(),
            "states": states.astype(np.float64).tolist() if states is not None else None,
            "frames": {},
            "image_sha256_raw": {},
            "image_cell_means": {},
        }
        for key in cameras:
            frames = arrays[key]
            if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[3] != 3:
                raise SystemExit(f"internal error: {path.name}:{key} is {frames.dtype}")
            if len(frames) != n + (1 if opts.extra_last_frame else 0):
                raise SystemExit(f"internal error: {path.name}:{key} has {len(frames)} frames")
            sizes[key] = [int(frames.shape[1]), int(frames.shape[2])]
            frames_stored.setdefault(key, []).append(int(frames.shape[0]))
            entry["frames"][key] = int(frames.shape[0])
            kept = frames[:n]
            entry["image_sha256_raw"][key] = [hashlib.sha256(f.tobytes()).hexdigest() for f in kept]
            entry["image_cell_means"][key] = frame_cell_means(kept)
            if len(frames) > n:
                entry.setdefault("final_frame_cell_means", {})[key] = frame_cell_means(frames[n:])[
                    0
                ]
        for name in opts.extra_arrays:
            entry.setdefault("extra_arrays", {})[name] = arrays[name].tolist()
        all_actions.append(actions.astype(np.float64))
        if states is not None:
            all_states.append(states.astype(np.float64))
        episodes.append(entry)
    state_dim = int(all_states[0].shape[1]) if all_states else 0
    height, width = sizes[cameras[0]] if cameras else (opts.image_height, opts.image_width)
    return {
        "layout": "npz",
        "files": [p.name for p in files],
        "compressed": opts.compressed,
        "episode_count": len(episodes),
        "lengths": [e["length"] for e in episodes],
        "total": sum(e["length"] for e in episodes),
        "action_key": opts.action_key,
        "state_key": opts.state_key if state_dim else None,
        "action_dim": int(all_actions[0].shape[1]),
        "state_dim": state_dim,
        "cameras": cameras,
        "image_sizes": sizes,
        "image_height": height if cameras else None,
        "image_width": width if cameras else None,
        "frames": frames_stored,
        "extra_last_frame": opts.extra_last_frame,
        "extra_arrays": list(opts.extra_arrays),
        "meta": META_FILE if meta_path.is_file() else None,
        "fps": meta.get("fps"),
        "instruction": meta.get("instruction"),
        "action_mean": column_stats(all_actions, "mean"),
        "action_min": column_stats(all_actions, "min"),
        "action_max": column_stats(all_actions, "max"),
        "state_mean": column_stats(all_states, "mean") if all_states else None,
        "episodes": episodes,
    }


# --------------------------------------------------------------------------- CLI


def non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")
    parser.add_argument("--episodes", type=positive, default=3)
    parser.add_argument("--steps-min", type=positive, default=8)
    parser.add_argument("--steps-max", type=positive, default=14)
    parser.add_argument("--action-dim", type=positive, default=7)
    parser.add_argument("--state-dim", type=non_negative, default=8, help="0: no state array")
    parser.add_argument("--action-key", default="actions", help="name of the actions array")
    parser.add_argument("--state-key", default="state", help="name of the state array")
    parser.add_argument("--cameras", default="front", help="image arrays, comma-separated, or none")
    parser.add_argument("--image-size", default="32x24", help="WIDTHxHEIGHT")
    parser.add_argument(
        "--extra-last-frame",
        action="store_true",
        help="image arrays hold T+1 frames (the observation after the last action)",
    )
    parser.add_argument("--meta", choices=META_MODES, default="full", help="what meta.json holds")
    parser.add_argument("--instruction", default=DEFAULT_INSTRUCTION)
    parser.add_argument("--fps", type=positive, default=20, help="meta.json fps (--meta full)")
    parser.add_argument(
        "--extra-array",
        action="append",
        default=[],
        metavar="NAME",
        help="an extra (T, 2) float64 array NAME in every file (repeatable)",
    )
    parser.add_argument("--compressed", action="store_true", help="np.savez_compressed")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--expect", type=Path, help="write the expected reader output here")
    parser.add_argument("--force", action="store_true", help="replace files written before")
    args = parser.parse_args(argv)

    if args.steps_min > args.steps_max:
        parser.error("--steps-min must be <= --steps-max")
    if args.steps_min < 2:
        parser.error("--steps-min must be >= 2")
    try:
        width, height = (int(part) for part in args.image_size.lower().split("x"))
    except ValueError:
        parser.error("--image-size must look like 32x24")
    if width < 8 or height < 8:
        parser.error("--image-size must be at least 8x8")
    text = args.cameras.strip()
    cams = () if text == "none" else tuple(c.strip() for c in text.split(","))
    extras = tuple(name.strip() for name in args.extra_array)
    names = [args.action_key, *([args.state_key] if args.state_dim else []), *cams, *extras]
    if any(not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", n) for n in names):
        parser.error("array names must be identifiers (letters, digits, '_', '.')")
    if len(set(names)) != len(names):
        parser.error("array names (actions, state, cameras, extra arrays) must be distinct")
    return Options(
        out=args.out,
        episodes=args.episodes,
        steps_min=args.steps_min,
        steps_max=args.steps_max,
        action_dim=args.action_dim,
        state_dim=args.state_dim,
        action_key=args.action_key,
        state_key=args.state_key,
        cameras=cams,
        image_height=height,
        image_width=width,
        extra_last_frame=args.extra_last_frame,
        meta=args.meta,
        instruction=args.instruction,
        fps=args.fps,
        extra_arrays=extras,
        compressed=args.compressed,
        seed=args.seed,
        expect=args.expect,
        force=args.force,
    )


def prepare_out(opts: Options) -> None:
    out = opts.out
    if out.exists() and any(out.iterdir()):
        if not opts.force:
            raise SystemExit(f"{out} is not empty (use --force to replace a dataset there)")
        ours = [p for p in out.iterdir() if FILE_PATTERN.fullmatch(p.name) or p.name == META_FILE]
        if len(ours) != len(list(out.iterdir())) or not all(p.is_file() for p in ours):
            raise SystemExit(f"{out} holds files this script did not write; refusing to clear it")
        for p in ours:
            p.unlink()
    out.mkdir(parents=True, exist_ok=True)


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    prepare_out(opts)
    write_dataset(opts)
    if opts.expect is not None:
        expect = read_expectations(opts)
        opts.expect.parent.mkdir(parents=True, exist_ok=True)
        opts.expect.write_text(json.dumps(expect) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
