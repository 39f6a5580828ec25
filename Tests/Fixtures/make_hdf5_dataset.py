"""Write small synthetic HDF5 demonstration datasets: robomimic / LIBERO or ALOHA / ACT layout.

The fixtures exist so that vlatune's HDF5 dataset support can be tested against the layouts met in
the wild. The writers follow (cited per function below):

* robomimic `robomimic/scripts/dataset_states_to_obs.py` (per-demo datasets and attrs, `total` and
  `env_args` on `data`, optional gzip) and `robomimic/scripts/split_train_val.py` +
  `robomimic/utils/file_utils.py::create_hdf5_filter_key` (`mask/train`, `mask/valid`);
  LIBERO's `scripts/create_dataset.py` (`problem_info` JSON attr with `language_instruction`,
  `bddl_file_name`; obs keys `agentview_rgb`, `eye_in_hand_rgb`, `ee_pos`, `gripper_states`, ...).
* ALOHA `aloha_scripts/record_episodes.py` (mobile-aloha / Physical-Intelligence/aloha),
  act-plus-plus `record_sim_episodes.py`, `compress_data.py` and `utils.py` (loader).

Usage (`python make_hdf5_dataset.py --help` lists every flag):

    make_hdf5_dataset.py --out DIR --layout robomimic|aloha [--episodes 3]
        [--steps-min 8 --steps-max 14] [--image-size 32x24] [--cameras a,b|none] [--seed 0]
        [--expect OUT.json] [--force]
      robomimic: [--file-name demo.hdf5] [--obs-keys robomimic|libero] [--action-dim 7]
        [--instruction-attr | --instruction-env-args | --instruction-ep-meta]
        [--instruction TEXT] [--val-ratio 0.34] [--no-mask] [--demo-start 0] [--next-obs] [--gzip]
        [--obs-leak copy|next|scaled]
      aloha: [--action-dim 14] [--compress] [--jpeg-channels rgb|bgr] [--pad global|per-camera]
        [--sim] [--base-action] [--float64]
      both: [--defect obs_length|image_frames|image_dtype|no_actions]

Instruction sources (robomimic): `--instruction-attr` LIBERO's `data.attrs["problem_info"]`;
`--instruction-env-args` `data.attrs["env_args"]["env_kwargs"]["language_instruction"]`;
`--instruction-ep-meta` RoboCasa's per-demo `data/demo_N.attrs["ep_meta"]` JSON (`"lang"`).
`--obs-leak` (robomimic) adds a low-dim obs dataset derived from each demo's actions, so a reader
that concatenates every low-dim `obs/*` dataset into the state puts the target in the input:
`copy` `obs/actions` = actions, `next` `obs/next_actions` (row t = actions[t+1], the last row
repeats actions[T-1]), `scaled` `obs/scaled_actions` = 2 * actions (same dtype as the actions).
The expectation's `"states"` / `"state_dim"` stay the proprioceptive state (`"state_keys"`, the
low-dim keys but the leak); `"low_dim_keys"` / `"low_dim_widths"` list every low-dim key written,
`"state_dim_all_obs"` is the sum of their widths and `"obs_leak_segment"` the leak's place in
that (name-sorted) concatenation.
`--defect` breaks the first episode (`demo_<start>` / `episode_0.hdf5`): `obs_length` (the first
state dataset -- robomimic's first low-dim obs key, ALOHA's `/observations/qpos` -- has one row
fewer than the actions), `image_frames` (the first camera one frame fewer), `image_dtype` (the
first camera float32 in [0, 1]; raw frames only), `no_actions` (no actions dataset); the
expectation's `"defect"` names the episode and the HDF5 path.

`--expect OUT.json` writes what a correct reader must produce, read back with h5py from the
written files (not from the in-memory arrays).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt
from fixture_media import decode_jpegs, encode_jpegs, frame_cell_means, make_frames, positive

FloatArray = npt.NDArray[np.float64]
UInt8Array = npt.NDArray[np.uint8]
Json = dict[str, Any]

DEFAULT_CAMERAS = {
    ("robomimic", "robomimic"): "agentview_image,robot0_eye_in_hand_image",
    ("robomimic", "libero"): "agentview_rgb,eye_in_hand_rgb",
    ("aloha", ""): "cam_high,cam_left_wrist,cam_right_wrist",
}
# Low-dim observation keys and widths (robomimic Lift/Can image datasets; LIBERO's raw HDF5).
LOW_DIM_KEYS = {
    "robomimic": {"robot0_eef_pos": 3, "robot0_eef_quat": 4, "robot0_gripper_qpos": 2},
    "libero": {
        "ee_ori": 3,
        "ee_pos": 3,
        "ee_states": 6,
        "gripper_states": 2,
        "joint_states": 7,
    },
}
SIM_STATE_DIM = {"robomimic": 32, "libero": 47}  # flattened MuJoCo state, NOT proprio
DEFAULT_INSTRUCTION = "put the black bowl on the plate"
MODEL_XML = '<mujoco model="vlatune_fixture"><worldbody/></mujoco>'


# --------------------------------------------------------------------------- images / ffmpeg


def jpeg_size(jpeg: bytes) -> tuple[int, int]:
    """(height, width) from a JPEG's SOFn segment."""
    p = 2
    while p + 4 <= len(jpeg):
        marker = jpeg[p + 1]
        (seg_len,) = struct.unpack_from(">H", jpeg, p + 2)
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack_from(">HH", jpeg, p + 5)
            return int(height), int(width)
        p += 2 + seg_len
    raise SystemExit("JPEG without a SOF segment")


# --------------------------------------------------------------------------- options


@dataclass(frozen=True)
class Options:
    out: Path
    layout: str
    episodes: int
    steps_min: int
    steps_max: int
    image_height: int
    image_width: int
    cameras: tuple[str, ...]
    action_dim: int
    seed: int
    expect: Path | None
    force: bool
    # robomimic / LIBERO
    file_name: str
    obs_keys: str
    instruction_attr: bool
    instruction_env_args: bool
    instruction_ep_meta: bool
    instruction: str
    val_ratio: float
    mask: bool
    demo_start: int
    next_obs: bool
    gzip: bool
    # ALOHA / ACT
    compress: bool
    jpeg_channels: str
    pad: str
    sim: bool
    base_action: bool
    float64: bool
    defect: str | None = None
    obs_leak: str | None = None


def obs_leak_key(opts: Options) -> str | None:
    """The obs dataset name `--obs-leak` writes (None without it)."""
    return OBS_LEAK_KEYS[opts.obs_leak] if opts.obs_leak is not None else None


def leak_values(mode: str, actions: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """`--obs-leak MODE`'s obs rows for a demo's `actions` (T, A), in the actions' dtype."""
    if mode == "copy":
        return actions.copy()
    if mode == "next":
        return np.concatenate([actions[1:], actions[-1:]])
    return (actions * 2.0).astype(actions.dtype)  # scaled


DEFECTS = ("obs_length", "image_frames", "image_dtype", "no_actions")
# --obs-leak: the obs dataset each mode writes (derived from the demo's actions).
OBS_LEAK_KEYS = {"copy": "actions", "next": "next_actions", "scaled": "scaled_actions"}
# RoboCasa `ep_meta` keys next to `lang` (robocasa/environments/kitchen/kitchen.py get_ep_meta).
EP_META_EXTRA: Json = {"layout_id": 0, "style_id": 0, "object_cfgs": [], "fixtures": {}}


def first_episode_name(opts: Options) -> str:
    return f"demo_{opts.demo_start}" if opts.layout == "robomimic" else "episode_0"


def defect_key(opts: Options) -> str | None:
    """The HDF5 path (inside the first episode's file) of the dataset `--defect` breaks."""
    if opts.defect is None:
        return None
    if opts.layout == "robomimic":
        prefix = f"/data/{first_episode_name(opts)}"
        keys = {
            "obs_length": f"{prefix}/obs/{sorted(LOW_DIM_KEYS[opts.obs_keys])[0]}",
            "image_frames": f"{prefix}/obs/{opts.cameras[0]}" if opts.cameras else "",
            "image_dtype": f"{prefix}/obs/{opts.cameras[0]}" if opts.cameras else "",
            "no_actions": f"{prefix}/actions",
        }
    else:
        camera = f"/observations/images/{opts.cameras[0]}" if opts.cameras else ""
        keys = {
            "obs_length": "/observations/qpos",
            "image_frames": camera,
            "image_dtype": camera,
            "no_actions": "/action",
        }
    return keys[opts.defect]


def apply_defect(opts: Options, episode: int, key: str, value: npt.NDArray[Any]) -> Any:
    """`value` as `--defect` stores it at `key` of episode number `episode` (None: omit it)."""
    target = defect_key(opts)
    if episode != 0 or target is None or key != target:
        return value
    if opts.defect in ("obs_length", "image_frames"):
        return value[:-1]
    if opts.defect == "image_dtype":
        return value.astype(np.float32) / np.float32(255.0)
    return None  # no_actions


def lengths(opts: Options, rng: np.random.Generator) -> list[int]:
    return [int(n) for n in rng.integers(opts.steps_min, opts.steps_max + 1, size=opts.episodes)]


def smooth(rng: np.random.Generator, n: int, dim: int, scale: float) -> FloatArray:
    t = np.arange(n, dtype=np.float64)[:, None]
    phase = rng.uniform(0, 2 * np.pi, size=dim)
    freq = rng.uniform(0.1, 0.4, size=dim)
    return rng.uniform(-scale, scale, size=dim) + scale * np.sin(phase + freq * t)


# --------------------------------------------------------------------------- robomimic / LIBERO


def env_args(opts: Options) -> Json:
    """`data.attrs["env_args"]`: robomimic's `env.serialize()` (EnvUtils type 1 = robosuite)."""
    libero = opts.obs_keys == "libero"
    cams = [re.sub(r"_(image|rgb)$", "", c) for c in opts.cameras]
    return {
        "env_name": "LIBERO_Kitchen_Tabletop_Manipulation" if libero else "Lift",
        "type": 1,
        "env_kwargs": {
            "has_renderer": False,
            "has_offscreen_renderer": True,
            "ignore_done": True,
            "use_object_obs": True,
            "use_camera_obs": bool(cams),
            "control_freq": 20,
            "controller_configs": {
                "type": "OSC_POSE",
                "input_max": 1,
                "input_min": -1,
                "output_max": [0.05, 0.05, 0.05, 0.5, 0.5, 0.5],
                "output_min": [-0.05, -0.05, -0.05, -0.5, -0.5, -0.5],
                "kp": 150,
                "damping": 1,
                "impedance_mode": "fixed",
                "control_delta": True,
            },
            "robots": ["Panda"],
            "camera_depths": False,
            "camera_heights": opts.image_height,
            "camera_widths": opts.image_width,
            "camera_names": cams,
            "reward_shaping": False,
        },
    }


def robomimic_env_args(opts: Options) -> Json:
    args = env_args(opts)
    if opts.instruction_env_args:
        args["env_kwargs"]["language_instruction"] = opts.instruction
    return args


def write_robomimic(opts: Options) -> None:
    """One file, `data/demo_<i>` groups (robomimic `dataset_states_to_obs.py` layout)."""
    rng = np.random.default_rng(opts.seed)
    low_dim = LOW_DIM_KEYS[opts.obs_keys]
    names = [f"demo_{opts.demo_start + i}" for i in range(opts.episodes)]
    demo_lengths = lengths(opts, rng)
    h, w = opts.image_height, opts.image_width
    compression: Json = {"compression": "gzip"} if opts.gzip else {}
    path = opts.out / opts.file_name
    with h5py.File(path, "w") as f:
        data = f.create_group("data")
        # Groups are created in a shuffled order (robomimic's multiprocessing writer stores demos
        # as workers finish); HDF5 lists links by name anyway: demo_0, demo_1, demo_10, demo_2...
        for i in [int(k) for k in rng.permutation(opts.episodes)]:
            n = demo_lengths[i]
            grp = data.create_group(names[i])
            actions = np.clip(smooth(rng, n, opts.action_dim, 0.5), -1.0, 1.0)
            close_at = int(rng.integers(1, n))
            actions[:, -1] = np.where(np.arange(n) < close_at, -1.0, 1.0)  # -1 open, +1 close
            rewards = np.zeros(n)
            rewards[-1] = 1.0
            dones = np.zeros(n, dtype=np.int64)  # done_mode 2: success or end of trajectory
            dones[-1] = 1
            prefix = f"/data/{names[i]}"
            stored = apply_defect(opts, i, f"{prefix}/actions", actions)
            if stored is not None:
                grp.create_dataset("actions", data=stored)
            grp.create_dataset("states", data=smooth(rng, n, SIM_STATE_DIM[opts.obs_keys], 1.0))
            grp.create_dataset("rewards", data=rewards)
            grp.create_dataset("dones", data=dones)
            obs: dict[str, npt.NDArray[Any]] = {
                key: smooth(rng, n, dim, 0.8) for key, dim in low_dim.items()
            }
            for cam, key in enumerate(opts.cameras):
                obs[key] = make_frames(h, w, i, cam, n)
            leak = obs_leak_key(opts)
            if leak is not None and opts.obs_leak is not None:  # derived: no draw from rng
                obs[leak] = leak_values(opts.obs_leak, actions)
            for key, value in obs.items():
                stored = apply_defect(opts, i, f"{prefix}/obs/{key}", value)
                grp.create_dataset(f"obs/{key}", data=stored, **compression)
                if opts.next_obs:
                    nxt = np.concatenate([value[1:], value[-1:]])
                    grp.create_dataset(f"next_obs/{key}", data=nxt, **compression)
            grp.attrs["model_file"] = MODEL_XML
            grp.attrs["num_samples"] = n
            if opts.instruction_ep_meta:  # RoboCasa: env.get_ep_meta() per demo
                lang = f"{opts.instruction} ({i + 1} of {opts.episodes})"  # one text per demo
                grp.attrs["ep_meta"] = json.dumps({**EP_META_EXTRA, "lang": lang})
        data.attrs["total"] = sum(demo_lengths)
        data.attrs["env_args"] = json.dumps(robomimic_env_args(opts), indent=4)
        if opts.instruction_attr:  # LIBERO create_dataset.py
            problem_info = {
                "problem_name": "libero_tabletop_manipulation",
                "domain_name": "robosuite",
                "language_instruction": opts.instruction,
            }
            data.attrs["problem_info"] = json.dumps(problem_info)
            data.attrs["bddl_file_name"] = "libero/bddl_files/fixture/" + "_".join(
                opts.instruction.split()
            )
        if opts.mask:
            # split_train_val.py: demos = sorted(keys) (lexical!), num_val = int(ratio * N),
            # a shuffled 0/1 mask; create_hdf5_filter_key: f[...] = np.array(keys, dtype="S").
            demos = sorted(names)
            num_val = int(opts.val_ratio * len(demos))
            mask = np.zeros(len(demos), dtype=np.int64)
            mask[:num_val] = 1
            rng.shuffle(mask)
            f["mask/train"] = np.array([d for d, m in zip(demos, mask, strict=True) if not m], "S")
            f["mask/valid"] = np.array([d for d, m in zip(demos, mask, strict=True) if m], "S")


def first_width(episodes: list[Json], key: str) -> int:
    """The row width of `key` in the first episode that has it (a `--defect` can remove it)."""
    return next(len(e[key][0]) for e in episodes if e[key] is not None)


def demo_number(name: str) -> int:
    return int(name.rsplit("_", 1)[1])


def check_leak(mode: str, where: str, leak: npt.NDArray[Any], actions: npt.NDArray[Any]) -> None:
    """Fail unless the stored `--obs-leak` rows are what MODE derives from the stored actions."""
    if leak.shape != actions.shape or leak.dtype != actions.dtype:
        raise SystemExit(f"internal error: {where} is {leak.dtype}{leak.shape}, not like actions")
    if not np.array_equal(leak, leak_values(mode, actions)):
        raise SystemExit(f"internal error: {where} is not --obs-leak {mode} of the actions")


def read_robomimic(opts: Options) -> Json:
    path = opts.out / opts.file_name
    with h5py.File(path, "r") as f:
        data = f["data"]
        listed = list(data.keys())
        ordered = sorted(listed, key=demo_number)  # robomimic: argsort([int(e[5:]) ...])
        problem = data.attrs.get("problem_info")
        instruction = json.loads(problem)["language_instruction"] if problem else None
        env = json.loads(data.attrs["env_args"])
        if instruction is None:
            instruction = env["env_kwargs"].get("language_instruction")
        per_demo: dict[str, str] = {
            name: json.loads(data[name].attrs["ep_meta"])["lang"]
            for name in ordered
            if "ep_meta" in data[name].attrs
        }
        if instruction is None and per_demo:
            texts = sorted(set(per_demo.values()))
            instruction = texts[0] if len(texts) == 1 else texts
        episodes: list[Json] = []
        cameras: list[str] = []
        low_dim: list[str] = []
        widths: dict[str, int] = {}
        leak = obs_leak_key(opts)
        state_keys: list[str] = []
        sizes: dict[str, list[int]] = {}
        for name in ordered:
            grp = data[name]
            obs = grp["obs"]
            cameras = sorted(k for k in obs if obs[k].ndim == 4)
            low_dim = sorted(k for k in obs if obs[k].ndim == 2)
            widths = {k: int(obs[k].shape[1]) for k in low_dim}
            state_keys = [k for k in low_dim if k != leak]
            sizes = {k: [int(obs[k].shape[1]), int(obs[k].shape[2])] for k in cameras}
            has_actions = "actions" in grp
            n = int(grp["actions"].shape[0]) if has_actions else int(grp.attrs["num_samples"])
            if int(grp.attrs["num_samples"]) != n:
                raise SystemExit(f"{name}: num_samples != len(actions)")
            if leak is not None and opts.obs_leak is not None and has_actions:
                check_leak(opts.obs_leak, f"{name}/obs/{leak}", obs[leak][()], grp["actions"][()])
            rows = {int(obs[k].shape[0]) for k in state_keys}
            state = (
                np.concatenate([obs[k][()] for k in state_keys], axis=1) if rows == {n} else None
            )
            frames = {k: obs[k][()] for k in cameras}
            entry: Json = {}
            if per_demo:
                entry["instruction"] = per_demo.get(name)
            episodes.append(
                {
                    "name": name,
                    **entry,
                    "length": n,
                    "actions": grp["actions"][()].tolist() if has_actions else None,
                    "states": state.tolist() if state is not None else None,
                    "sim_state_dim": int(grp["states"].shape[1]),
                    "rewards": grp["rewards"][()].tolist(),
                    "dones": grp["dones"][()].tolist(),
                    "image_sha256_raw": {
                        k: [hashlib.sha256(fr.tobytes()).hexdigest() for fr in v]
                        for k, v in frames.items()
                    },
                    "image_cell_means": {k: frame_cell_means(v) for k, v in frames.items()},
                    "jpeg": False,
                }
            )
        mask = None
        if "mask" in f:
            mask = {k: [bytes(b).decode() for b in f["mask"][k][()]] for k in f["mask"]}
        total = int(data.attrs["total"])
    if total != sum(e["length"] for e in episodes):
        raise SystemExit("data.attrs['total'] != sum of demo lengths")
    segment: Json | None = None
    if leak is not None:
        start = sum(widths[k] for k in low_dim if k < leak)  # low_dim is sorted by name
        segment = {"key": f"obs/{leak}", "start": start, "size": widths[leak]}
    return {
        "layout": "robomimic",
        "files": [opts.file_name],
        "demo_order_listed": listed,
        "demo_order_numeric": ordered,
        "cameras": cameras,
        "image_sizes": sizes,
        "low_dim_keys": low_dim,
        "low_dim_widths": widths,
        "state_keys": state_keys,
        "action_dim": first_width(episodes, "actions"),
        "state_dim": first_width(episodes, "states"),
        "state_dim_all_obs": sum(widths.values()),
        "obs_leak": opts.obs_leak,
        "obs_leak_segment": segment,
        "instruction": instruction,
        "env_name": env["env_name"],
        "total": total,
        "mask": mask,
        "episodes": episodes,
    }


# --------------------------------------------------------------------------- ALOHA / ACT


@dataclass
class AlohaEpisode:
    action: FloatArray
    qpos: FloatArray
    qvel: FloatArray
    effort: FloatArray
    base_action: FloatArray
    frames: dict[str, UInt8Array]
    jpegs: dict[str, list[bytes]]

    @property
    def length(self) -> int:
        return int(self.action.shape[0])


def make_aloha_episodes(opts: Options) -> list[AlohaEpisode]:
    rng = np.random.default_rng(opts.seed)
    h, w = opts.image_height, opts.image_width
    episodes: list[AlohaEpisode] = []
    for i, n in enumerate(lengths(opts, rng)):
        action = smooth(rng, n, opts.action_dim, 0.6)
        qpos = np.concatenate([action[:1], action[:-1]]) + rng.normal(0, 0.01, action.shape)
        episodes.append(
            AlohaEpisode(
                action=action,
                qpos=qpos,
                qvel=np.diff(qpos, axis=0, prepend=qpos[:1]) * 50.0,
                effort=rng.normal(0, 1, qpos.shape),
                base_action=smooth(rng, n, 2, 0.3),
                frames={key: make_frames(h, w, i, c, n) for c, key in enumerate(opts.cameras)},
                jpegs={},
            )
        )
    if opts.compress and opts.cameras:  # one ffmpeg call for every frame of the run
        stacked = np.concatenate([ep.frames[k] for ep in episodes for k in opts.cameras])
        jpegs = encode_jpegs(stacked, "bgr24" if opts.jpeg_channels == "bgr" else "rgb24")
        pos = 0
        for ep in episodes:
            for key in opts.cameras:
                ep.jpegs[key] = jpegs[pos : pos + ep.length]
                pos += ep.length
    return episodes


def put(
    opts: Options,
    episode: int,
    group: h5py.Group,
    name: str,
    value: npt.NDArray[Any],
    **kwargs: Any,
) -> None:
    """`group.create_dataset(name, data=value, **kwargs)` after `--defect` (which may omit it)."""
    stored = apply_defect(opts, episode, f"{group.name.rstrip('/')}/{name}", value)
    if stored is not None:
        group.create_dataset(name, data=stored, **kwargs)


def write_aloha(opts: Options) -> None:
    """One `episode_<i>.hdf5` per episode (ALOHA record_episodes.py / ACT record_sim_episodes.py).

    Vectors use h5py's default dtype, float32 (`create_dataset('action', (T, 14))` without a
    dtype, although the recorders' docstrings say float64). Raw images are chunked (1, H, W, 3).
    With `--compress` each frame is a JPEG in a zero-padded row of an (N, padded_size) uint8
    dataset and `/compress_len` is (num_cams, N) float32, rows in camera order -- as
    mobile-aloha `record_episodes.py` (padded_size = max over all cameras) and act-plus-plus
    `compress_data.py` (`--pad per-camera`: one max per camera). act-plus-plus `utils.py` loads it
    with `compressed = root.attrs.get('compress', False)` and `cv2.imdecode(padded_row, 1)`.
    """
    dtype = np.float64 if opts.float64 else np.float32
    h, w = opts.image_height, opts.image_width
    for i, ep in enumerate(make_aloha_episodes(opts)):
        n = ep.length

        with h5py.File(opts.out / f"episode_{i}.hdf5", "w") as root:
            root.attrs["sim"] = opts.sim
            if opts.compress or not opts.sim:  # record_sim_episodes.py writes no 'compress'
                root.attrs["compress"] = opts.compress
            obs = root.create_group("observations")
            images = obs.create_group("images")
            if opts.compress and opts.cameras:
                lens = np.array([[len(j) for j in ep.jpegs[k]] for k in opts.cameras])
                for c, key in enumerate(opts.cameras):
                    width = int(lens.max() if opts.pad == "global" else lens[c].max())
                    padded = np.zeros((n, width), dtype=np.uint8)
                    for t, jpeg in enumerate(ep.jpegs[key]):
                        padded[t, : len(jpeg)] = np.frombuffer(jpeg, dtype=np.uint8)
                    put(opts, i, images, key, padded, chunks=(1, width))
                # The recorders: create_dataset('compress_len', (cams, T)) -> h5py default 'f4'.
                root.create_dataset("compress_len", lens.shape, dtype="f4")
                root["/compress_len"][...] = lens
            else:
                for key, value in ep.frames.items():
                    put(opts, i, images, key, value, chunks=(1, h, w, 3))
            put(opts, i, obs, "qpos", ep.qpos.astype(dtype))
            obs.create_dataset("qvel", data=ep.qvel.astype(dtype))
            if not opts.sim:
                obs.create_dataset("effort", data=ep.effort.astype(dtype))
            put(opts, i, root, "action", ep.action.astype(dtype))
            if opts.base_action:  # mobile ALOHA: linear / angular base velocity
                root.create_dataset("base_action", data=ep.base_action.astype(dtype))


def read_aloha(opts: Options) -> Json:
    files = sorted(opts.out.glob("episode_*.hdf5"), key=lambda p: demo_number(p.stem))
    episodes: list[Json] = []
    cameras: list[str] = []
    sizes: dict[str, list[int]] = {}
    attrs: Json = {}
    pending: list[tuple[Json, str, list[bytes]]] = []  # JPEGs to decode in one ffmpeg call
    for path in files:
        with h5py.File(path, "r") as root:
            attrs = {k: bool(root.attrs[k]) for k in ("sim", "compress") if k in root.attrs}
            compressed = bool(root.attrs.get("compress", False))
            image_grp = root["observations/images"]
            cameras = list(image_grp.keys())  # h5py lists by name
            action = root["action"][()] if "action" in root else None
            qpos = root["observations/qpos"]
            entry: Json = {
                "name": path.stem,
                "file": path.name,
                "length": int(action.shape[0] if action is not None else qpos.shape[0]),
                "actions": action.astype(np.float64).tolist() if action is not None else None,
                "states": root["observations/qpos"][()].astype(np.float64).tolist(),
                "qvel": root["observations/qvel"][()].astype(np.float64).tolist(),
                "action_dtype": str(action.dtype) if action is not None else None,
                "jpeg": compressed,
                "image_sha256_raw": None if compressed else {},
                "image_cell_means": {},
            }
            if "base_action" in root:
                entry["base_actions"] = root["base_action"][()].astype(np.float64).tolist()
            if compressed:
                lens = root["compress_len"][()]
                entry["compress_len_shape"] = list(lens.shape)
                entry["jpeg_lengths"] = {}
                entry["image_sha256_jpeg"] = {}
                order = list(opts.cameras)  # rows of compress_len follow the recorder's order
                for key in cameras:
                    rows = image_grp[key][()]
                    blobs = [
                        bytes(rows[t, : int(lens[order.index(key), t])]) for t in range(len(rows))
                    ]
                    entry["jpeg_lengths"][key] = [len(b) for b in blobs]
                    entry["image_sha256_jpeg"][key] = [hashlib.sha256(b).hexdigest() for b in blobs]
                    sizes[key] = list(jpeg_size(blobs[0]))
                    pending.append((entry, key, blobs))
            else:
                for key in cameras:
                    frames = image_grp[key][()]
                    sizes[key] = [int(frames.shape[1]), int(frames.shape[2])]
                    entry["image_sha256_raw"][key] = [
                        hashlib.sha256(fr.tobytes()).hexdigest() for fr in frames
                    ]
                    entry["image_cell_means"][key] = frame_cell_means(frames)
            episodes.append(entry)
    if pending:
        h, w = sizes[pending[0][1]]
        decoded = decode_jpegs([b for _, _, blobs in pending for b in blobs], h, w)
        if opts.jpeg_channels == "bgr":
            decoded = decoded[..., ::-1]  # what cv2.imdecode returns: the array as recorded
        pos = 0
        for entry, key, blobs in pending:
            entry["image_cell_means"][key] = frame_cell_means(decoded[pos : pos + len(blobs)])
            pos += len(blobs)
    compressed_any = bool(pending)
    return {
        "layout": "aloha",
        "files": [p.name for p in files],
        "cameras": cameras,
        "compress_len_rows": list(opts.cameras) if compressed_any else None,
        "jpeg_channels": opts.jpeg_channels if compressed_any else None,
        "image_sizes": sizes,
        "root_attrs": attrs,
        "action_dim": first_width(episodes, "actions"),
        "state_dim": first_width(episodes, "states"),
        "instruction": None,
        "mask": None,
        "episodes": episodes,
    }


# --------------------------------------------------------------------------- CLI


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, required=True, help="directory to write into")
    parser.add_argument("--layout", choices=("robomimic", "aloha"), required=True)
    parser.add_argument("--episodes", type=positive, default=3)
    parser.add_argument("--steps-min", type=positive, default=8)
    parser.add_argument("--steps-max", type=positive, default=14)
    parser.add_argument("--image-size", default="32x24", help="WIDTHxHEIGHT")
    parser.add_argument("--cameras", help="image keys, comma-separated, or none")
    parser.add_argument("--action-dim", type=positive, help="default 7 (robomimic), 14 (aloha)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--expect", type=Path)
    parser.add_argument("--force", action="store_true", help="replace files written before")
    parser.add_argument(
        "--defect",
        choices=DEFECTS,
        help="break the first episode: obs_length, image_frames, image_dtype, no_actions",
    )
    robo = parser.add_argument_group("robomimic / LIBERO")
    robo.add_argument("--file-name", default="demo.hdf5")
    robo.add_argument("--obs-keys", choices=("robomimic", "libero"), default="robomimic")
    where = robo.add_mutually_exclusive_group()
    where.add_argument("--instruction-attr", action="store_true", help="LIBERO problem_info attr")
    where.add_argument(
        "--instruction-env-args",
        action="store_true",
        help="env_args['env_kwargs']['language_instruction'] on data (no problem_info)",
    )
    where.add_argument(
        "--instruction-ep-meta",
        action="store_true",
        help="RoboCasa: data/demo_N attr ep_meta = JSON {'lang': INSTRUCTION, ...}",
    )
    robo.add_argument("--instruction", default=DEFAULT_INSTRUCTION)
    robo.add_argument("--val-ratio", type=float, default=0.34, help="mask/valid share (floor)")
    robo.add_argument("--no-mask", action="store_true", help="no mask/ group")
    robo.add_argument("--demo-start", type=int, choices=(0, 1), default=0, help="first demo_N")
    robo.add_argument("--next-obs", action="store_true", help="also write next_obs/")
    robo.add_argument("--gzip", action="store_true", help="gzip obs datasets (--compress)")
    robo.add_argument(
        "--obs-leak",
        choices=tuple(OBS_LEAK_KEYS),
        help="add obs/actions (copy), obs/next_actions (next: row t = actions[t+1]) or "
        "obs/scaled_actions (scaled: 2 * actions) to every demo",
    )
    aloha = parser.add_argument_group("ALOHA / ACT")
    aloha.add_argument("--compress", action="store_true", help="JPEG frames + /compress_len")
    aloha.add_argument(
        "--jpeg-channels",
        choices=("rgb", "bgr"),
        default="rgb",
        help="bgr: frames handed to the encoder as cv2.imencode would read an RGB array",
    )
    aloha.add_argument("--pad", choices=("global", "per-camera"), default="global")
    aloha.add_argument("--sim", action="store_true", help="attrs sim=True (ACT sim episodes)")
    aloha.add_argument("--base-action", action="store_true", help="mobile ALOHA /base_action")
    aloha.add_argument("--float64", action="store_true", help="float64 vectors (default f32)")
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
    obs_style = args.obs_keys if args.layout == "robomimic" else ""
    cam_text = (
        args.cameras if args.cameras is not None else DEFAULT_CAMERAS[(args.layout, obs_style)]
    )
    cams = () if cam_text.strip() == "none" else tuple(c.strip() for c in cam_text.split(","))
    if any(not c or "/" in c for c in cams) or len(set(cams)) != len(cams):
        parser.error("--cameras: names must be distinct, non-empty and contain no '/'")
    if args.layout == "robomimic" and set(cams) & set(LOW_DIM_KEYS[args.obs_keys]):
        parser.error("--cameras: a camera name clashes with a low-dim obs key")
    if args.obs_leak is not None and args.layout != "robomimic":
        parser.error("--obs-leak needs --layout robomimic")
    if args.obs_leak is not None and OBS_LEAK_KEYS[args.obs_leak] in cams:
        parser.error("--cameras: a camera name clashes with the --obs-leak key")
    if args.obs_leak is not None and args.defect == "no_actions":
        parser.error("--obs-leak is derived from the actions; not with --defect no_actions")
    if not 0.0 <= args.val_ratio < 1.0:
        parser.error("--val-ratio must be in [0, 1)")
    if args.defect in ("image_frames", "image_dtype") and not cams:
        parser.error(f"--defect {args.defect} needs a camera")
    if args.defect == "image_dtype" and args.layout == "aloha" and args.compress:
        parser.error("--defect image_dtype: --compress frames are JPEG bytes")
    action_dim = args.action_dim or (7 if args.layout == "robomimic" else 14)
    return Options(
        out=args.out,
        layout=args.layout,
        episodes=args.episodes,
        steps_min=args.steps_min,
        steps_max=args.steps_max,
        image_height=height,
        image_width=width,
        cameras=cams,
        action_dim=action_dim,
        seed=args.seed,
        expect=args.expect,
        force=args.force,
        file_name=args.file_name,
        obs_keys=args.obs_keys,
        instruction_attr=args.instruction_attr,
        instruction_env_args=args.instruction_env_args,
        instruction_ep_meta=args.instruction_ep_meta,
        instruction=args.instruction,
        val_ratio=args.val_ratio,
        mask=not args.no_mask,
        demo_start=args.demo_start,
        next_obs=args.next_obs,
        gzip=args.gzip,
        compress=args.compress,
        jpeg_channels=args.jpeg_channels,
        pad=args.pad,
        sim=args.sim,
        base_action=args.base_action,
        float64=args.float64,
        defect=args.defect,
        obs_leak=args.obs_leak,
    )


def read_defect(opts: Options) -> Json:
    """`--defect` as found with h5py in the first episode's file: what is wrong with `key`."""
    name = first_episode_name(opts)
    file = opts.file_name if opts.layout == "robomimic" else f"{name}.hdf5"
    key = defect_key(opts)
    if key is None or opts.defect is None:
        raise SystemExit("internal error: read_defect without --defect")
    actions_key = f"/data/{name}/actions" if opts.layout == "robomimic" else "/action"
    found: Json = {"kind": opts.defect, "episode": name, "key": key, "file": file}
    with h5py.File(opts.out / file, "r") as f:
        if opts.defect == "no_actions":
            ok = key not in f
        else:
            rows, expected = int(f[key].shape[0]), int(f[actions_key].shape[0])
            found |= {"rows": rows, "actions_rows": expected, "dtype": str(f[key].dtype)}
            if opts.defect == "image_dtype":
                data = f[key][()]
                ok = data.dtype == np.float32 and data.ndim == 4 and float(data.max()) <= 1.0
                ok = ok and rows == expected
            else:
                ok = rows == expected - 1
    if not ok:
        raise SystemExit(f"internal error: {file}:{key} does not show --defect {opts.defect}")
    return found


def prepare_out(opts: Options) -> None:
    out = opts.out
    ours = [*out.glob("episode_*.hdf5"), out / opts.file_name] if out.exists() else []
    existing = [p for p in ours if p.exists()]
    if out.exists() and any(out.iterdir()):
        if not opts.force:
            raise SystemExit(f"{out} is not empty (use --force to replace a dataset there)")
        others = [p for p in out.iterdir() if p not in existing]
        if others:
            raise SystemExit(f"{out} holds files this script did not write; refusing to clear it")
        for p in existing:
            p.unlink()
    out.mkdir(parents=True, exist_ok=True)


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    prepare_out(opts)
    if opts.layout == "robomimic":
        write_robomimic(opts)
        expect = read_robomimic(opts) if opts.expect is not None else None
    else:
        write_aloha(opts)
        expect = read_aloha(opts) if opts.expect is not None else None
    if opts.expect is not None and expect is not None:
        if opts.defect is not None:
            expect["defect"] = read_defect(opts)
        opts.expect.parent.mkdir(parents=True, exist_ok=True)
        opts.expect.write_text(json.dumps(expect) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
