"""Write a small synthetic LeRobotDataset (v2.0, v2.1 or v3.0) laid out the way LeRobot writes one.

The fixtures exist so that vlatune's native (Swift) reader can be tested against every layout it
meets in the wild without needing LeRobot, torch or `datasets` installed. Every byte-level choice
below was checked against LeRobot's writers (huggingface/lerobot v0.6.1, plus the v2.0 and v2.1
code at the "Dataset v2.0" / "LeRobotDataset v2.1" commits) and against the real datasets under
`shared/datasets/` (g1-inspire-pickbottle-v21, gr00t-robot-sim-picknplace-v2,
reachy2-apple-storage-v30).

Two writer profiles, picked with `--list-kind`:

* `fixed` (default) -- LeRobot's own recorder, which goes through HF `datasets`: vector features
  are `fixed_size_list<float>[n]` and the data files carry `huggingface` schema metadata
  (`"_type": "Sequence"` for v2.x written by datasets 3.x, `"_type": "List"` for v3.0 written by
  datasets 4.x). v2.x: one `Dataset.to_parquet` per episode (as g1). v3.0: one
  `pq.ParquetWriter` per data file and one `write_table` -- so one row group -- per episode; the
  episodes parquet is `pa.Table.from_pydict` (no schema metadata), stats carry quantiles.
* `variable` -- a pandas writer: vector features are `list<float>` and the files carry `pandas`
  schema metadata. v2.x: `DataFrame.to_parquet()` with its RangeIndex stored as metadata (as the
  GR00T v2.0 sample). v3.0: the output of `convert_dataset_v21_to_v30.py` (as reachy2):
  `to_parquet(index=False)` data files, `"fps"` stamped into every non-video feature, episodes
  parquet written by HF `Dataset.to_parquet` (`huggingface` metadata) in the converter's column
  order, and stats without quantiles (they come from v2.1 `episodes_stats.jsonl`).

Usage (`python make_lerobot_dataset.py --help` lists every flag):

    make_lerobot_dataset.py --out DIR --version v2.0|v2.1|v3.0 [--episodes 4]
        [--steps-min 8 --steps-max 14] [--fps 10] [--action-dim 7] [--state-dim 8]
        [--cameras none|image|video] [--camera-keys observation.images.front,...]
        [--image-size 32x24] [--codec h264|av1] [--compression snappy|zstd|gzip|none]
        [--float64] [--list-kind fixed|variable] [--data-page-version 1|2] [--no-dictionary]
        [--row-group-size N] [--files-per-chunk N] [--chunks-size N] [--legacy-tasks-index]
        [--unsupported lz4|delta] [--jitter-timestamp] [--declared-action-dim N]
        [--plain-keys] [--video-dir videos] [--seed 0] [--expect OUT.json] [--force]

`--expect OUT.json` writes what a correct reader must produce, read back from the written files
with pyarrow/pandas (not from the in-memory arrays); with cameras, `image_cell_means` per episode is
the mean RGB of each frame as decoded by Pillow (image bytes) or the ffmpeg CLI (rgb24, videos).

Defects (each adds a key to the expectation): `--unsupported lz4` writes the data files with
pyarrow `compression="lz4"` (Parquet codec LZ4_RAW, every column), `--unsupported delta` the data
files' `episode_index` column as DELTA_BINARY_PACKED (`"unsupported"`); `--jitter-timestamp` moves
episode 0's step 3 timestamp 4 ms off the 1/fps grid (`"jittered"`); `--declared-action-dim N`
makes info.json declare `action` shape [N] while the data keeps its real width
(`"declared_action_dim"`; `action_dim` is the width of the stored rows).

Off-standard uploads: `--plain-keys` names the action and state features (info.json, parquet
columns, stats.json / episodes_stats.jsonl / the v3 episodes' `stats/*` columns) `actions` and
`state` instead of `action` and `observation.state` (camera keys stay `--camera-keys`'s, which
need no `observation.images.` prefix); the expectation's `"action_key"` / `"state_key"` name
them. `--video-dir NAME` writes the mp4s under NAME/ while info.json's `video_path` keeps the
standard `videos/...` template, so a reader following `video_path` finds nothing (a mis-uploaded
dataset); the expectation's `"video_dir"`, `"video_path_resolves"` and each episode's
`videos[key]["stored_path"]` (next to `"path"`, the template's) say where they are.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import fixture_media
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from fixture_media import encode_png, frame_cell_means, positive
from PIL import Image

FloatArray = npt.NDArray[np.float64]
UInt8Array = npt.NDArray[np.uint8]
Json = dict[str, Any]

VERSIONS = ("v2.0", "v2.1", "v3.0")
TASKS = ("pick the red block", "push the blue cube", "open the top drawer")
ROBOT_TYPE = "vlatune_fixture_arm"
QUANTILES = (("q01", 0.01), ("q10", 0.10), ("q50", 0.50), ("q90", 0.90), ("q99", 0.99))
DEFAULT_CAMERA_KEYS = "observation.images.front,observation.images.wrist"

# Path templates, verbatim from LeRobot (underscores in v2.x, hyphens in v3.0).
V2_DATA_PATH = "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
V2_VIDEO_PATH = "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"
V3_DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
V3_VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
V3_EPISODES_PATH = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
V3_TASKS_PATH = "meta/tasks.parquet"
VIDEO_ROOT = "videos/"  # the first component of both video path templates
STANDARD_KEYS = ("action", "observation.state")
PLAIN_KEYS = ("actions", "state")  # --plain-keys
DATA_FILES_SIZE_IN_MB = 100  # LeRobot DEFAULT_DATA_FILE_SIZE_IN_MB
VIDEO_FILES_SIZE_IN_MB = 200  # LeRobot DEFAULT_VIDEO_FILE_SIZE_IN_MB
VIDEO_GOP = 2  # LeRobot VideoEncoderConfig.g
VIDEO_CRF = 30  # LeRobot VideoEncoderConfig.crf
SVTAV1_PRESET = 12  # LeRobot LIBSVTAV1_DEFAULT_PRESET
SVTAV1_MIN_SIDE = 64  # SVT-AV1 refuses smaller frames; libaom-av1 is used below that
DELTA_COLUMN = "episode_index"
JITTER = (0, 3, 0.004)  # --jitter-timestamp: episode, step, seconds added


@dataclass(frozen=True)
class Options:
    out: Path
    version: str
    episodes: int
    steps_min: int
    steps_max: int
    fps: int
    action_dim: int
    state_dim: int
    cameras: str
    camera_keys: tuple[str, ...]
    image_height: int
    image_width: int
    codec: str
    compression: str | None
    float64: bool
    list_kind: str
    data_page_version: str
    use_dictionary: bool
    row_group_size: int | None
    files_per_chunk: int | None
    chunks_size: int
    legacy_tasks_index: bool
    seed: int
    expect: Path | None
    force: bool
    unsupported: str | None = None
    jitter_timestamp: bool = False
    declared_action_dim: int | None = None
    plain_keys: bool = False
    video_dir: str = "videos"

    @property
    def action_key(self) -> str:
        return (PLAIN_KEYS if self.plain_keys else STANDARD_KEYS)[0]

    @property
    def state_key(self) -> str:
        return (PLAIN_KEYS if self.plain_keys else STANDARD_KEYS)[1]

    def stored_video_path(self, rel: str) -> str:
        """Where the video that `video_path` puts at `rel` is written (`--video-dir`)."""
        return stored_video_path(rel, self.video_dir)

    @property
    def v3(self) -> bool:
        return self.version == "v3.0"

    @property
    def fixed(self) -> bool:
        return self.list_kind == "fixed"

    @property
    def float_type(self) -> pa.DataType:
        return pa.float64() if self.float64 else pa.float32()

    @property
    def float_dtype(self) -> str:
        return "float64" if self.float64 else "float32"

    @property
    def keys(self) -> tuple[str, ...]:
        return () if self.cameras == "none" else self.camera_keys

    @property
    def stat_names(self) -> tuple[str, ...]:
        if self.version == "v2.0":
            return ("mean", "std", "max", "min")
        base = ("min", "max", "mean", "std", "count")
        if self.v3 and self.fixed:
            return base + tuple(name for name, _ in QUANTILES)
        return base

    def parquet_kwargs(self) -> Json:
        """The pyarrow writer options every parquet file of the fixture is written with."""
        kwargs: Json = {
            "compression": self.compression,
            "use_dictionary": self.use_dictionary,
            "data_page_version": self.data_page_version,
        }
        return kwargs

    def data_parquet_kwargs(self, schema: pa.Schema) -> Json:
        """`parquet_kwargs` for the data files, with `--unsupported` applied."""
        kwargs = self.parquet_kwargs()
        if self.unsupported == "lz4":
            kwargs["compression"] = "lz4"  # pyarrow's LZ4 is the Parquet LZ4_RAW codec
        elif self.unsupported == "delta":
            # column_encoding needs dictionary encoding off for its columns: keep it for the rest.
            if self.use_dictionary:
                kwargs["use_dictionary"] = [
                    path for path in leaf_paths(schema) if path != DELTA_COLUMN
                ]
            kwargs["column_encoding"] = {DELTA_COLUMN: "DELTA_BINARY_PACKED"}
        return kwargs


def stored_video_path(rel: str, video_dir: str) -> str:
    if not rel.startswith(VIDEO_ROOT):
        raise SystemExit(f"internal error: video path {rel} is not under {VIDEO_ROOT}")
    return f"{video_dir}/{rel[len(VIDEO_ROOT) :]}"


@dataclass
class Episode:
    index: int
    task: str
    task_index: int
    start: int  # global index of the first frame
    actions: FloatArray
    states: FloatArray
    frames: dict[str, UInt8Array] = field(default_factory=dict)

    @property
    def length(self) -> int:
        return int(self.actions.shape[0])

    @property
    def timestamps(self) -> FloatArray:
        # LeRobot stores `frame_index / fps` (a Python float) in a float32 column.
        times = np.arange(self.length, dtype=np.float64) / self.fps_value
        for step, seconds in self.jitter.items():
            times[step] += seconds
        return times

    fps_value: float = 1.0
    jitter: dict[int, float] = field(default_factory=dict)  # step -> seconds off the grid


@dataclass(frozen=True)
class VideoSegment:
    chunk_index: int
    file_index: int
    from_timestamp: float
    to_timestamp: float


# --------------------------------------------------------------------------- synthesis


def make_episodes(opts: Options) -> tuple[list[str], list[Episode]]:
    """Random but deterministic episodes; tasks are numbered in order of first appearance."""
    rng = np.random.default_rng(opts.seed)
    lengths = rng.integers(opts.steps_min, opts.steps_max + 1, size=opts.episodes)
    action_centre = rng.uniform(-0.5, 0.5, size=opts.action_dim)
    action_half = 0.05 * (1.0 + np.arange(opts.action_dim) % 4)
    state_centre = rng.uniform(-1.5, 1.5, size=opts.state_dim)
    state_half = 0.1 * (1.0 + np.arange(opts.state_dim) % 5)
    n_tasks = min(len(TASKS), max(2, opts.episodes))
    tasks: list[str] = []
    episodes: list[Episode] = []
    start = 0
    for ep in range(opts.episodes):
        n = int(lengths[ep])
        t = np.arange(n, dtype=np.float64)[:, None]
        phase = rng.uniform(0, 2 * np.pi, size=opts.action_dim)
        freq = rng.uniform(0.05, 0.3, size=opts.action_dim)
        noise = rng.normal(0.0, 0.1, size=(n, opts.action_dim))
        actions = action_centre + action_half * np.clip(np.sin(phase + freq * t) + noise, -1, 1)
        # Last action dimension is a 0/1 gripper: open (1) until a random step, then closed (0).
        close_at = int(rng.integers(1, n)) if n > 1 else 1
        actions[:, -1] = (np.arange(n) < close_at).astype(np.float64)
        walk = np.cumsum(rng.normal(0.0, 0.3, size=(n, opts.state_dim)), axis=0)
        states = state_centre + state_half * np.tanh(walk)
        task = TASKS[ep % n_tasks]
        if task not in tasks:
            tasks.append(task)
        dtype = np.float64 if opts.float64 else np.float32
        # Round through the storage dtype so stats see exactly the stored values.
        episode = Episode(
            index=ep,
            task=task,
            task_index=tasks.index(task),
            start=start,
            actions=actions.astype(dtype).astype(np.float64),
            states=states.astype(dtype).astype(np.float64),
            fps_value=float(opts.fps),
        )
        if opts.jitter_timestamp and ep == JITTER[0]:
            episode.jitter[JITTER[1]] = JITTER[2]
        for cam, key in enumerate(opts.keys):
            episode.frames[key] = make_frames(opts, ep, cam, n)
        episodes.append(episode)
        start += n
    return tasks, episodes


def make_frames(opts: Options, episode: int, camera: int, n: int) -> UInt8Array:
    """Smooth gradient plus a moving square: cheap to encode, different on every frame."""
    return fixture_media.make_frames(opts.image_height, opts.image_width, episode, camera, n)


def action_names(dim: int) -> list[str]:
    named = ["x", "y", "z", "roll", "pitch", "yaw"]
    names = [named[i] if i < len(named) else f"joint_{i}" for i in range(dim - 1)]
    return [*names, "gripper"]


def video_info(opts: Options) -> Json:
    codec = "av1" if opts.codec == "av1" else "h264"
    if opts.v3 and opts.fixed:
        # LeRobot v0.6 `get_video_info`: stream fields, audio, then the VideoEncoderConfig fields
        # as `video.<name>` and the un-prefixed `is_depth_map`.
        preset: int | None = SVTAV1_PRESET if av1_encoder(opts) == "libsvtav1" else None
        return {
            "video.height": opts.image_height,
            "video.width": opts.image_width,
            "video.codec": codec,
            "video.pix_fmt": "yuv420p",
            "video.fps": opts.fps,
            "video.channels": 3,
            "has_audio": False,
            "video.g": VIDEO_GOP,
            "video.crf": VIDEO_CRF,
            "video.preset": preset,
            "video.fast_decode": 0,
            "video.video_backend": "pyav",
            "video.extra_options": {},
            "is_depth_map": False,
        }
    # v2.0 / v2.1 / converted v3.0 `get_video_info` (g1 and reachy2 carry exactly these keys).
    return {
        "video.height": opts.image_height,
        "video.width": opts.image_width,
        "video.codec": codec,
        "video.pix_fmt": "yuv420p",
        "video.is_depth_map": False,
        "video.fps": opts.fps,
        "video.channels": 3,
        "has_audio": False,
    }


def build_features(opts: Options) -> Json:
    """info.json `features`, in LeRobot's order: user features first, then DEFAULT_FEATURES."""
    declared = opts.declared_action_dim or opts.action_dim
    features: Json = {
        opts.action_key: {
            "dtype": opts.float_dtype,
            "shape": [declared],
            "names": action_names(declared),
        },
        opts.state_key: {
            "dtype": opts.float_dtype,
            "shape": [opts.state_dim],
            "names": {"motors": [f"motor_{i}" for i in range(opts.state_dim)]},
        },
    }
    for key in opts.keys:
        feature: Json = {
            "dtype": opts.cameras,
            "shape": [opts.image_height, opts.image_width, 3],
            "names": ["height", "width", "channels"],
        }
        if opts.cameras == "video":
            feature["info"] = video_info(opts)
        features[key] = feature
    timestamp_dtype = "float64" if opts.float64 else "float32"
    features["timestamp"] = {"dtype": timestamp_dtype, "shape": [1], "names": None}
    for name in ("frame_index", "episode_index", "index", "task_index"):
        features[name] = {"dtype": "int64", "shape": [1], "names": None}
    if opts.v3 and not opts.fixed:
        for feature in features.values():
            if feature["dtype"] != "video":
                feature["fps"] = opts.fps  # convert_dataset_v21_to_v30.convert_info
    return features


def episode_columns(ep: Episode, opts: Options) -> dict[str, npt.NDArray[Any]]:
    n = ep.length
    return {
        opts.action_key: ep.actions,
        opts.state_key: ep.states,
        **ep.frames,
        "timestamp": ep.timestamps.astype(np.float64 if opts.float64 else np.float32),
        "frame_index": np.arange(n, dtype=np.int64),
        "episode_index": np.full(n, ep.index, dtype=np.int64),
        "index": np.arange(ep.start, ep.start + n, dtype=np.int64),
        "task_index": np.full(n, ep.task_index, dtype=np.int64),
    }


def feature_stats(values: npt.NDArray[Any], is_image: bool, names: tuple[str, ...]) -> Json:
    """min/max/mean/std/count(/quantiles) as LeRobot serialises them (lists; images (3,1,1))."""
    if is_image:
        data = values.astype(np.float64).reshape(-1, 3) / 255.0
    elif values.ndim == 1:
        data = values.reshape(-1, 1)
    else:
        data = values
    count = int(values.shape[0])
    as_float = data.astype(np.float64)
    computed: dict[str, Any] = {
        "min": data.min(axis=0),
        "max": data.max(axis=0),
        "mean": as_float.mean(axis=0),
        "std": as_float.std(axis=0),
    }
    for name, q in QUANTILES:
        computed[name] = np.quantile(as_float, q, axis=0)
    out: Json = {}
    for name in names:
        if name == "count":
            out[name] = [count]
            continue
        value = np.asarray(computed[name])
        out[name] = value.reshape(3, 1, 1).tolist() if is_image else value.tolist()
    return out


def all_stats(columns: dict[str, npt.NDArray[Any]], features: Json, names: tuple[str, ...]) -> Json:
    return {
        key: feature_stats(columns[key], features[key]["dtype"] in ("image", "video"), names)
        for key in features
        if key in columns
    }


def concat_columns(episodes: list[Episode], opts: Options) -> dict[str, npt.NDArray[Any]]:
    per_episode = [episode_columns(ep, opts) for ep in episodes]
    return {key: np.concatenate([cols[key] for cols in per_episode]) for key in per_episode[0]}


# --------------------------------------------------------------------------- arrow helpers


def vector_array(values: FloatArray, opts: Options) -> pa.Array:
    n, dim = values.shape
    flat = pa.array(values.reshape(-1).astype(opts.float_dtype), type=opts.float_type)
    if opts.fixed:
        return pa.FixedSizeListArray.from_arrays(flat, dim)
    offsets = pa.array(np.arange(0, n * dim + 1, dim, dtype=np.int32), type=pa.int32())
    return pa.ListArray.from_arrays(offsets, flat)


def image_array(frames: UInt8Array, opts: Options) -> pa.Array:
    # HF `Image` storage after `embed_table_storage`: struct<bytes, path> with path = basename.
    pattern = "frame-{:06d}.png" if opts.v3 else "frame_{:06d}.png"
    data = [encode_png(frame) for frame in frames]
    paths = [pattern.format(i) for i in range(len(data))]
    return pa.StructArray.from_arrays(
        [pa.array(data, type=pa.binary()), pa.array(paths, type=pa.string())],
        names=["bytes", "path"],
    )


def hf_feature(data_type: pa.DataType, sequence_name: str) -> Json:
    """`datasets.Features` JSON for an arrow type, as stored in the `huggingface` metadata."""
    if pa.types.is_struct(data_type) and data_type.names == ["bytes", "path"]:
        return {"_type": "Image"}
    if pa.types.is_fixed_size_list(data_type):
        inner = hf_feature(data_type.value_type, sequence_name)
        return {"feature": inner, "length": data_type.list_size, "_type": sequence_name}
    if pa.types.is_list(data_type):
        return {"feature": hf_feature(data_type.value_type, sequence_name), "_type": "List"}
    names = {pa.float32(): "float32", pa.float64(): "float64", pa.int64(): "int64"}
    dtype = names.get(data_type, "string" if pa.types.is_string(data_type) else str(data_type))
    return {"dtype": dtype, "_type": "Value"}


def leaf_paths(schema: pa.Schema) -> list[str]:
    """The Parquet column paths (`action.list.element`, ...) pyarrow writes for `schema`."""
    buffer = pa.BufferOutputStream()
    pq.write_table(schema.empty_table(), buffer)
    parquet_schema = pq.ParquetFile(pa.BufferReader(buffer.getvalue())).schema
    return [parquet_schema.column(i).path for i in range(len(parquet_schema))]


def with_hf_metadata(table: pa.Table, sequence_name: str) -> pa.Table:
    features = {f.name: hf_feature(f.type, sequence_name) for f in table.schema}
    metadata = {"huggingface": json.dumps({"info": {"features": features}})}
    return table.replace_schema_metadata(metadata)


def with_pandas_metadata(table: pa.Table, keep_range_index: bool) -> pa.Table:
    """Round-trip through pandas so the `pandas` metadata is the one `to_parquet` would write."""
    frame = table.to_pandas()
    preserve: bool | None = None if keep_range_index else False
    converted = pa.Table.from_pandas(frame, preserve_index=preserve)
    metadata = dict(converted.schema.metadata or {})
    metadata.update(table.schema.metadata or {})
    return table.replace_schema_metadata(metadata)


def data_table(ep: Episode, opts: Options) -> pa.Table:
    columns = episode_columns(ep, opts)
    arrays: dict[str, pa.Array] = {}
    for key, values in columns.items():
        if key in (opts.action_key, opts.state_key):
            arrays[key] = vector_array(values, opts)
        elif key in ep.frames:
            if opts.cameras == "image":  # video frames live in the mp4s, never in parquet
                arrays[key] = image_array(values, opts)
        else:
            arrays[key] = pa.array(values)
    return pa.table(arrays)


def finish_data_table(table: pa.Table, opts: Options) -> pa.Table:
    if opts.fixed:
        return with_hf_metadata(table, "List" if opts.v3 else "Sequence")
    if opts.v3 and opts.cameras == "image":
        # The converter builds the schema from HF Features when images are present.
        table = with_hf_metadata(table, "List")
    return with_pandas_metadata(table, keep_range_index=not opts.v3)


# --------------------------------------------------------------------------- video


@cache
def ffmpeg_encoders() -> str:
    result = subprocess.run(
        ["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True, check=True
    )
    return result.stdout


def av1_encoder(opts: Options) -> str:
    encoders = ffmpeg_encoders()
    small = min(opts.image_height, opts.image_width) < SVTAV1_MIN_SIDE
    if " libsvtav1 " in encoders and not small:
        return "libsvtav1"
    if " libaom-av1 " in encoders:
        return "libaom-av1"
    raise SystemExit("no AV1 encoder (libsvtav1 / libaom-av1) in this ffmpeg")


def encode_video(frames: UInt8Array, path: Path, opts: Options) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = opts.image_height, opts.image_width
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24"]
    cmd += ["-s", f"{w}x{h}", "-r", str(opts.fps), "-i", "-"]
    if opts.codec == "h264":
        cmd += ["-c:v", "libx264"]
    else:
        encoder = av1_encoder(opts)
        cmd += ["-c:v", encoder]
        if encoder == "libsvtav1":
            cmd += ["-preset", str(SVTAV1_PRESET)]
        else:
            cmd += ["-cpu-used", "8"]
    cmd += ["-pix_fmt", "yuv420p", "-g", str(VIDEO_GOP), "-crf", str(VIDEO_CRF), "-threads", "1"]
    cmd += ["-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact", str(path)]
    result = subprocess.run(cmd, input=frames.tobytes(), capture_output=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"ffmpeg failed for {path}: {result.stderr.decode(errors='replace')}")


# --------------------------------------------------------------------------- writers


def write_json(value: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=4, ensure_ascii=False))  # LeRobot write_json


def write_jsonl(rows: list[Json], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def write_parquet(table: pa.Table, path: Path, opts: Options, data: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    kwargs = opts.data_parquet_kwargs(table.schema) if data else opts.parquet_kwargs()
    pq.write_table(table, path, row_group_size=opts.row_group_size, **kwargs)


def next_chunk_file(chunk: int, file: int, chunks_size: int) -> tuple[int, int]:
    """LeRobot `update_chunk_file_indices`."""
    return (chunk + 1, 0) if file + 1 == chunks_size else (chunk, file + 1)


def write_v2(opts: Options, tasks: list[str], episodes: list[Episode]) -> None:
    features = build_features(opts)
    for ep in episodes:
        chunk = ep.index // opts.chunks_size
        path = opts.out / V2_DATA_PATH.format(episode_chunk=chunk, episode_index=ep.index)
        write_parquet(finish_data_table(data_table(ep, opts), opts), path, opts, data=True)
        if opts.cameras == "video":
            for key in opts.keys:
                rel = V2_VIDEO_PATH.format(
                    episode_chunk=chunk, video_key=key, episode_index=ep.index
                )
                encode_video(ep.frames[key], opts.out / opts.stored_video_path(rel), opts)
    n_frames = sum(ep.length for ep in episodes)
    video_keys = opts.keys if opts.cameras == "video" else ()
    info: Json = {
        "codebase_version": opts.version,
        "robot_type": ROBOT_TYPE,
        "total_episodes": len(episodes),
        "total_frames": n_frames,
        "total_tasks": len(tasks),
        "total_videos": len(episodes) * len(video_keys),
        "total_chunks": (len(episodes) - 1) // opts.chunks_size + 1,
        "chunks_size": opts.chunks_size,
        "fps": opts.fps,
        "splits": {"train": f"0:{len(episodes)}"},
        "data_path": V2_DATA_PATH,
        "video_path": V2_VIDEO_PATH if video_keys else None,
        "features": features,
    }
    meta = opts.out / "meta"
    write_json(info, meta / "info.json")
    write_jsonl(
        [{"episode_index": ep.index, "tasks": [ep.task], "length": ep.length} for ep in episodes],
        meta / "episodes.jsonl",
    )
    write_jsonl([{"task_index": i, "task": t} for i, t in enumerate(tasks)], meta / "tasks.jsonl")
    if opts.version == "v2.0":
        stats = all_stats(concat_columns(episodes, opts), features, opts.stat_names)
        write_json(stats, meta / "stats.json")
    else:
        rows = [
            {
                "episode_index": ep.index,
                "stats": all_stats(episode_columns(ep, opts), features, opts.stat_names),
            }
            for ep in episodes
        ]
        write_jsonl(rows, meta / "episodes_stats.jsonl")


def group_episodes(opts: Options, episodes: list[Episode]) -> list[tuple[int, int, list[Episode]]]:
    """(chunk_index, file_index, episodes) for each v3 data/video file."""
    per_file = opts.files_per_chunk or len(episodes)
    groups: list[tuple[int, int, list[Episode]]] = []
    chunk, file = 0, 0
    for first in range(0, len(episodes), per_file):
        groups.append((chunk, file, episodes[first : first + per_file]))
        chunk, file = next_chunk_file(chunk, file, opts.chunks_size)
    return groups


def write_v3(opts: Options, tasks: list[str], episodes: list[Episode]) -> None:
    features = build_features(opts)
    video_keys = opts.keys if opts.cameras == "video" else ()
    location: dict[int, tuple[int, int]] = {}
    segments: dict[tuple[int, str], VideoSegment] = {}
    for chunk, file, group in group_episodes(opts, episodes):
        path = opts.out / V3_DATA_PATH.format(chunk_index=chunk, file_index=file)
        path.parent.mkdir(parents=True, exist_ok=True)
        tables = [finish_data_table(data_table(ep, opts), opts) for ep in group]
        if opts.fixed:
            # LeRobot's recorder: one ParquetWriter per file, one write_table per episode.
            kwargs = opts.data_parquet_kwargs(tables[0].schema)
            with pq.ParquetWriter(path, tables[0].schema, **kwargs) as writer:
                for table in tables:
                    writer.write_table(table, row_group_size=opts.row_group_size)
        else:
            # The v2.1 -> v3.0 converter: pd.concat(...).to_parquet(index=False).
            merged = pa.concat_tables([t.replace_schema_metadata(None) for t in tables])
            write_parquet(finish_data_table(merged, opts), path, opts, data=True)
        for ep in group:
            location[ep.index] = (chunk, file)
        for key in video_keys:
            frames = np.concatenate([ep.frames[key] for ep in group])
            rel = V3_VIDEO_PATH.format(video_key=key, chunk_index=chunk, file_index=file)
            encode_video(frames, opts.out / opts.stored_video_path(rel), opts)
            offset = 0
            for ep in group:
                segments[(ep.index, key)] = VideoSegment(
                    chunk, file, offset / opts.fps, (offset + ep.length) / opts.fps
                )
                offset += ep.length

    rows: list[Json] = []
    for ep in episodes:
        chunk, file = location[ep.index]
        data: Json = {
            "data/chunk_index": chunk,
            "data/file_index": file,
            "dataset_from_index": ep.start,
            "dataset_to_index": ep.start + ep.length,
        }
        video: Json = {}
        for key in video_keys:
            seg = segments[(ep.index, key)]
            video[f"videos/{key}/chunk_index"] = seg.chunk_index
            video[f"videos/{key}/file_index"] = seg.file_index
            video[f"videos/{key}/from_timestamp"] = seg.from_timestamp
            video[f"videos/{key}/to_timestamp"] = seg.to_timestamp
        legacy: Json = {"tasks": [ep.task], "length": ep.length}
        stats = all_stats(episode_columns(ep, opts), features, opts.stat_names)
        flat_stats = {
            f"stats/{key}/{name}": value
            for key, per_key in stats.items()
            for name, value in per_key.items()
        }
        tail: Json = {"meta/episodes/chunk_index": 0, "meta/episodes/file_index": 0}
        if opts.fixed:  # DatasetWriter.save_episode -> LeRobotDatasetMetadata.save_episode
            row: Json = {"episode_index": ep.index, **legacy, **data, **video}
        else:  # convert_dataset_v21_to_v30.generate_episode_metadata_dict
            row = {"episode_index": ep.index, **data, **video, **legacy}
        rows.append({**row, **flat_stats, **tail})
    episodes_table = pa.Table.from_pylist(rows)
    if not opts.fixed:
        episodes_table = with_hf_metadata(episodes_table, "List")
    episodes_path = opts.out / V3_EPISODES_PATH.format(chunk_index=0, file_index=0)
    write_parquet(episodes_table, episodes_path, opts)

    # LeRobot >= v0.5 (PR #3077, 2026-03) names the index: pd.Index(tasks, name="task") -> a
    # `task` column and pandas `index_columns: ["task"]`. Older writers (and the real reachy2
    # file) used an unnamed index -> `__index_level_0__`. dtype=object keeps the column `string`
    # (pandas 2.x, which LeRobot pins) instead of pandas 3's `large_string`.
    index_name = None if opts.legacy_tasks_index else "task"
    tasks_frame = pd.DataFrame(
        {"task_index": list(range(len(tasks)))},
        index=pd.Index(tasks, name=index_name, dtype=object),
    )
    tasks_frame.to_parquet(opts.out / V3_TASKS_PATH, **opts.parquet_kwargs())

    n_frames = sum(ep.length for ep in episodes)
    settings: Json = {
        "chunks_size": opts.chunks_size,
        "data_files_size_in_mb": DATA_FILES_SIZE_IN_MB,
        "video_files_size_in_mb": VIDEO_FILES_SIZE_IN_MB,
        "data_path": V3_DATA_PATH,
        "video_path": V3_VIDEO_PATH if video_keys else None,
    }
    totals: Json = {
        "total_episodes": len(episodes),
        "total_frames": n_frames,
        "total_tasks": len(tasks),
    }
    splits = {"train": f"0:{len(episodes)}"}
    if opts.fixed:  # DatasetInfo dataclass field order (LeRobot v0.6)
        info: Json = {"codebase_version": "v3.0", "fps": opts.fps, "features": features}
        info |= totals | settings | {"robot_type": ROBOT_TYPE, "splits": splits}
    else:  # v2.1 info.json as rewritten by convert_info
        info = {"codebase_version": "v3.0", "robot_type": ROBOT_TYPE, **totals}
        info |= {"chunks_size": opts.chunks_size, "fps": opts.fps, "splits": splits}
        info |= {k: settings[k] for k in ("data_path", "video_path")}
        info |= {"features": features}
        info |= {k: settings[k] for k in ("data_files_size_in_mb", "video_files_size_in_mb")}
    write_json(info, opts.out / "meta" / "info.json")
    stats = all_stats(concat_columns(episodes, opts), features, opts.stat_names)
    write_json(stats, opts.out / "meta" / "stats.json")


# --------------------------------------------------------------------------- expectations


def read_expectations(root: Path, video_dir: str = "videos") -> Json:
    """What a correct reader must produce, read back from disk only.

    The action and state features are the first of `action` / `actions` and `observation.state`
    / `state` that info.json declares; videos the template's path, or failing that the same path
    under `video_dir` (`--video-dir`).
    """
    info = json.loads((root / "meta" / "info.json").read_text())
    version = info["codebase_version"]
    features: Json = info["features"]
    action_key = next((k for k in (STANDARD_KEYS[0], PLAIN_KEYS[0]) if k in features), None)
    state_key = next((k for k in (STANDARD_KEYS[1], PLAIN_KEYS[1]) if k in features), None)
    if action_key is None or state_key is None:
        raise SystemExit("info.json declares no action / state feature")
    cameras = [k for k, f in features.items() if f["dtype"] in ("image", "video")]
    video_keys = [k for k in cameras if features[k]["dtype"] == "video"]
    image_keys = [k for k in cameras if features[k]["dtype"] == "image"]
    fps = info["fps"]
    slices: list[tuple[Json, pa.Table]] = []
    if version == "v3.0":
        tasks_frame = pd.read_parquet(root / V3_TASKS_PATH)
        tasks = [str(t) for t in tasks_frame.index]  # LeRobot: tasks.iloc[task_index].name
        episode_files = sorted((root / "meta" / "episodes").glob("chunk-*/file-*.parquet"))
        meta_rows: list[Json] = []
        for path in episode_files:
            meta_rows += pq.read_table(path).to_pylist()
        cache_tables: dict[tuple[int, int], pa.Table] = {}
        for row in sorted(meta_rows, key=lambda r: r["episode_index"]):
            where = (row["data/chunk_index"], row["data/file_index"])
            if where not in cache_tables:
                rel = info["data_path"].format(chunk_index=where[0], file_index=where[1])
                cache_tables[where] = pq.read_table(root / rel)
            table = cache_tables[where]
            first_index = table.column("index")[0].as_py()
            start = row["dataset_from_index"] - first_index
            slices.append((row, table.slice(start, row["length"])))
    else:
        tasks_rows = [json.loads(line) for line in (root / "meta" / "tasks.jsonl").open()]
        tasks = [r["task"] for r in sorted(tasks_rows, key=lambda r: r["task_index"])]
        for line in (root / "meta" / "episodes.jsonl").open():
            row = json.loads(line)
            chunk = row["episode_index"] // info["chunks_size"]
            rel = info["data_path"].format(episode_chunk=chunk, episode_index=row["episode_index"])
            slices.append((row, pq.read_table(root / rel)))

    out_episodes: list[Json] = []
    decoded_videos: dict[str, UInt8Array] = {}
    resolves = True  # every video where info.json's video_path puts it
    for row, table in slices:
        ep_index = row["episode_index"]
        if table.column("episode_index").to_pylist() != [ep_index] * row["length"]:
            raise SystemExit(f"episode {ep_index}: rows do not match the episode metadata")
        if table.column("frame_index").to_pylist() != list(range(row["length"])):
            raise SystemExit(f"episode {ep_index}: frame_index is not 0..n-1")
        entry: Json = {
            "episode_index": ep_index,
            "length": row["length"],
            "instruction": tasks[table.column("task_index")[0].as_py()],
            "actions": table.column(action_key).to_pylist(),
            "states": table.column(state_key).to_pylist(),
            "timestamps": table.column("timestamp").to_pylist(),
        }
        if image_keys:
            entry["image_sha256"] = {
                key: [hashlib.sha256(v["bytes"]).hexdigest() for v in table.column(key).to_pylist()]
                for key in image_keys
            }
            entry["image_cell_means"] = {
                key: [pillow_mean_rgb(v["bytes"]) for v in table.column(key).to_pylist()]
                for key in image_keys
            }
        if video_keys:
            videos: Json = {}
            for key in video_keys:
                if version == "v3.0":
                    chunk, file = row[f"videos/{key}/chunk_index"], row[f"videos/{key}/file_index"]
                    rel = info["video_path"].format(
                        video_key=key, chunk_index=chunk, file_index=file
                    )
                    start_s = row[f"videos/{key}/from_timestamp"]
                    end_s = row[f"videos/{key}/to_timestamp"]
                else:
                    rel = info["video_path"].format(
                        episode_chunk=ep_index // info["chunks_size"],
                        video_key=key,
                        episode_index=ep_index,
                    )
                    start_s, end_s = 0.0, row["length"] / fps
                stored = rel if (root / rel).is_file() else stored_video_path(rel, video_dir)
                if not (root / stored).is_file():
                    raise SystemExit(f"episode {ep_index}: no video at {rel} nor {stored}")
                resolves = resolves and stored == rel
                videos[key] = {
                    "path": rel,
                    "stored_path": stored,
                    "from_timestamp": start_s,
                    "to_timestamp": end_s,
                }
            entry["videos"] = videos
            entry["image_cell_means"] = {}
            for key, video in videos.items():
                if video["stored_path"] not in decoded_videos:
                    h, w = features[key]["shape"][:2]
                    decoded = decode_video(root / video["stored_path"], h, w)
                    decoded_videos[video["stored_path"]] = decoded
                frames = decoded_videos[video["stored_path"]]
                first = round(video["from_timestamp"] * fps)
                last = round(video["to_timestamp"] * fps)
                if last - first != row["length"] or last > len(frames):
                    raise SystemExit(
                        f"{video['path']}: frames {first}..{last} of {len(frames)} decoded for "
                        f"episode {ep_index} ({row['length']} rows)"
                    )
                entry["image_cell_means"][key] = frame_cell_means(frames[first:last])
        out_episodes.append(entry)

    declared_action_dim = features[action_key]["shape"][0]
    stored_widths = {len(a) for e in out_episodes for a in e["actions"]}
    if len(stored_widths) != 1:
        raise SystemExit(f"action rows of several widths: {sorted(stored_widths)}")
    action_dim = stored_widths.pop()
    stored = [v["stored_path"] for e in out_episodes for v in e.get("videos", {}).values()]
    video_dirs = {path.split("/")[0] for path in stored}  # the folder the mp4s are under
    if len(video_dirs) > 1:
        raise SystemExit(f"videos under several folders: {sorted(video_dirs)}")
    extra: Json = {}
    if action_dim != declared_action_dim:
        extra["declared_action_dim"] = declared_action_dim  # info.json; the rows differ
    return {
        "codebase_version": version,
        "fps": fps,
        "action_dim": action_dim,
        **extra,
        "state_dim": features[state_key]["shape"][0],
        "action_key": action_key,
        "state_key": state_key,
        "cameras": cameras,
        "video_dir": video_dirs.pop() if video_dirs else None,
        "video_path_resolves": resolves if video_keys else None,
        "image_sizes": {k: features[k]["shape"][:2] for k in cameras},
        "tasks": tasks,
        "total_frames": sum(e["length"] for e in out_episodes),
        "episodes": out_episodes,
    }


def pillow_mean_rgb(data: bytes) -> list[float]:
    """Mean RGB of one encoded image, decoded by Pillow."""
    with Image.open(io.BytesIO(data)) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return frame_cell_means(pixels[None])[0]


def decode_video(path: Path, height: int, width: int) -> UInt8Array:
    """Every frame of a video, decoded by the ffmpeg CLI to rgb24 (no frame dropped or doubled)."""
    raw = fixture_media.run_ffmpeg(
        [
            *("-i", str(path), "-map", "0:v:0", "-fps_mode", "passthrough"),
            *("-f", "rawvideo", "-pix_fmt", "rgb24", "-"),
        ],
        b"",
    )
    frame_bytes = height * width * 3
    if len(raw) % frame_bytes:
        raise SystemExit(f"{path}: decoded {len(raw)} bytes, not whole {width}x{height} frames")
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, height, width, 3)


def defect_expectations(opts: Options, expect: Json) -> Json:
    """The expectation keys of `--unsupported` and `--jitter-timestamp`, read from the files."""
    extra: Json = {}
    if opts.unsupported is not None:
        info = json.loads((opts.out / "meta" / "info.json").read_text())
        if opts.v3:
            rel = info["data_path"].format(chunk_index=0, file_index=0)
        else:
            rel = info["data_path"].format(episode_chunk=0, episode_index=0)
        meta = pq.ParquetFile(opts.out / rel).metadata
        chunks = [meta.row_group(0).column(i) for i in range(meta.num_columns)]
        found: Json = {"kind": opts.unsupported, "file": rel}
        if opts.unsupported == "lz4":
            # pyarrow names the Parquet LZ4_RAW codec (7) "LZ4" (and the Hadoop one "LZ4_HADOOP")
            if {c.compression for c in chunks} != {"LZ4"}:
                raise SystemExit(f"internal error: {rel} is not LZ4_RAW throughout")
            found |= {"column": None, "codec": "LZ4_RAW"}
            found["columns"] = [c.path_in_schema for c in chunks]
        else:
            delta = [c.path_in_schema for c in chunks if "DELTA_BINARY_PACKED" in c.encodings]
            if delta != [DELTA_COLUMN]:
                raise SystemExit(f"internal error: DELTA_BINARY_PACKED columns {delta} in {rel}")
            found |= {"column": DELTA_COLUMN, "encoding": "DELTA_BINARY_PACKED"}
        extra["unsupported"] = found
    if opts.jitter_timestamp:
        episode, step, _ = JITTER
        times = next(e for e in expect["episodes"] if e["episode_index"] == episode)["timestamps"]
        off = times[step] - step / expect["fps"]
        if abs(off) <= 1e-4:
            raise SystemExit(f"internal error: step {step} is only {off} s off the grid")
        extra["jittered"] = {"episode": episode, "step": step, "offset_s": round(off, 6)}
    return extra


# --------------------------------------------------------------------------- CLI


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, required=True, help="dataset root to create")
    parser.add_argument("--version", choices=VERSIONS, required=True)
    parser.add_argument("--episodes", type=positive, default=4)
    parser.add_argument("--steps-min", type=positive, default=8)
    parser.add_argument("--steps-max", type=positive, default=14)
    parser.add_argument("--fps", type=positive, default=10)
    parser.add_argument("--action-dim", type=positive, default=7)
    parser.add_argument("--state-dim", type=positive, default=8)
    parser.add_argument("--cameras", choices=("none", "image", "video"), default="none")
    parser.add_argument("--camera-keys", default=DEFAULT_CAMERA_KEYS, help="comma separated")
    parser.add_argument("--image-size", default="32x24", help="WIDTHxHEIGHT (even for video)")
    parser.add_argument("--codec", choices=("h264", "av1"), default="h264")
    parser.add_argument(
        "--compression", choices=("snappy", "zstd", "gzip", "none"), default="snappy"
    )
    parser.add_argument("--float64", action="store_true", help="float64 action/state/timestamp")
    parser.add_argument("--list-kind", choices=("fixed", "variable"), default="fixed")
    parser.add_argument("--data-page-version", choices=("1", "2"), default="1")
    parser.add_argument("--no-dictionary", action="store_true")
    parser.add_argument("--row-group-size", type=positive, help="max rows per row group")
    parser.add_argument(
        "--files-per-chunk",
        type=positive,
        help="v3.0: episodes per data/video file (default: all in one file)",
    )
    parser.add_argument(
        "--chunks-size",
        type=positive,
        default=1000,
        help="v2.x: episodes per chunk dir; v3.0: files per chunk dir (LeRobot: 1000)",
    )
    parser.add_argument(
        "--legacy-tasks-index",
        action="store_true",
        help="v3.0: unnamed tasks.parquet index (`__index_level_0__`, LeRobot < v0.5)",
    )
    parser.add_argument(
        "--unsupported",
        choices=("lz4", "delta"),
        help="data files: lz4 = LZ4_RAW compression; delta = episode_index DELTA_BINARY_PACKED",
    )
    parser.add_argument(
        "--jitter-timestamp",
        action="store_true",
        help="episode 0, step 3: timestamp + 0.004 s (off the 1/fps grid)",
    )
    parser.add_argument(
        "--declared-action-dim",
        type=positive,
        metavar="N",
        help="info.json declares action shape [N]; the data keeps --action-dim",
    )
    parser.add_argument(
        "--plain-keys",
        action="store_true",
        help="name the action / state features `actions` / `state` (not action / "
        "observation.state)",
    )
    parser.add_argument(
        "--video-dir",
        default="videos",
        metavar="NAME",
        help="write the mp4s under NAME/ (info.json's video_path still says videos/...)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--expect", type=Path, help="write the expected reader output here")
    parser.add_argument("--force", action="store_true", help="replace an existing dataset")
    args = parser.parse_args(argv)

    if args.steps_min > args.steps_max:
        parser.error("--steps-min must be <= --steps-max")
    try:
        width, height = (int(part) for part in args.image_size.lower().split("x"))
    except ValueError:
        parser.error("--image-size must look like 32x24")
    keys = tuple(k.strip() for k in args.camera_keys.split(",") if k.strip())
    if args.cameras != "none" and not keys:
        parser.error("--camera-keys is empty")
    if width < 8 or height < 8:
        parser.error("--image-size must be at least 8x8")
    if args.cameras == "video" and (width % 2 or height % 2):
        parser.error("--image-size must be even for yuv420p video")
    if args.jitter_timestamp and args.steps_min < JITTER[1] + 1:
        parser.error(f"--jitter-timestamp needs --steps-min >= {JITTER[1] + 1}")
    if args.declared_action_dim == args.action_dim:
        parser.error("--declared-action-dim must differ from --action-dim")
    vector_keys = PLAIN_KEYS if args.plain_keys else STANDARD_KEYS
    reserved = {*vector_keys, "timestamp", "frame_index", "episode_index", "index", "task_index"}
    if args.cameras != "none" and (set(keys) & reserved or len(set(keys)) != len(keys)):
        parser.error("--camera-keys: names must be distinct and not name another feature")
    video_dir = args.video_dir.strip()
    if not video_dir or "/" in video_dir or video_dir in (".", "..", "meta", "data", "images"):
        parser.error("--video-dir must be one folder name other than meta, data and images")
    return Options(
        out=args.out,
        version=args.version,
        episodes=args.episodes,
        steps_min=args.steps_min,
        steps_max=args.steps_max,
        fps=args.fps,
        action_dim=args.action_dim,
        state_dim=args.state_dim,
        cameras=args.cameras,
        camera_keys=keys,
        image_height=height,
        image_width=width,
        codec=args.codec,
        compression=None if args.compression == "none" else args.compression,
        float64=args.float64,
        list_kind=args.list_kind,
        data_page_version=f"{args.data_page_version}.0",
        use_dictionary=not args.no_dictionary,
        row_group_size=args.row_group_size,
        files_per_chunk=args.files_per_chunk,
        chunks_size=args.chunks_size,
        legacy_tasks_index=args.legacy_tasks_index,
        seed=args.seed,
        expect=args.expect,
        force=args.force,
        unsupported=args.unsupported,
        jitter_timestamp=args.jitter_timestamp,
        declared_action_dim=args.declared_action_dim,
        plain_keys=args.plain_keys,
        video_dir=video_dir,
    )


def prepare_out(opts: Options) -> None:
    out = opts.out
    if out.exists() and any(out.iterdir()):
        if not opts.force:
            raise SystemExit(f"{out} is not empty (use --force to replace a dataset there)")
        if not (out / "meta" / "info.json").is_file():
            raise SystemExit(f"{out} does not look like a dataset; refusing to clear it")
        for name in dict.fromkeys(("meta", "data", "videos", opts.video_dir, "images")):
            shutil.rmtree(out / name, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    prepare_out(opts)
    tasks, episodes = make_episodes(opts)
    if opts.v3:
        write_v3(opts, tasks, episodes)
    else:
        write_v2(opts, tasks, episodes)
    if opts.expect is not None:
        opts.expect.parent.mkdir(parents=True, exist_ok=True)
        expect = read_expectations(opts.out, opts.video_dir)
        expect |= defect_expectations(opts, expect)
        opts.expect.write_text(json.dumps(expect) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
