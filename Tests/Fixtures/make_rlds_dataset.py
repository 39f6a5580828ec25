"""Write a small synthetic RLDS dataset (TFDS tfrecord layout) without TensorFlow.

The fixtures exist so that vlatune's native (Swift) RLDS reader can be tested without TensorFlow,
`tensorflow_datasets` or Pillow installed. Everything byte-level was checked against the real TFDS
dataset under `shared/datasets/octo-bridge-debug-rlds/bridge_dataset/1.0.0/` (decoded with the
reader below; `--inspect` prints what it finds there):

* TFRecord framing: per record `uint64le length`, `uint32le masked_crc32c(length bytes)`, data,
  `uint32le masked_crc32c(data)`; CRC32C is Castagnoli (reflected polynomial 0x82F63B78) and
  `mask(crc) = ((crc >> 15) | (crc << 17)) + 0xA282EAD8 (mod 2**32)`.
* One record = one episode = one serialized `tensorflow.Example`. TFDS flattens the nested
  FeaturesDict with `/`: `steps/action`, `steps/observation/<camera>`, `steps/language_instruction`,
  `steps/is_first`, `episode_metadata/file_path`, ... Step values are concatenated step-major
  (a 7-D action over 10 steps is one FloatList of 70 values); images are one encoded JPEG/PNG
  per step in a BytesList; bool and int32 scalars are Int64Lists; text is a BytesList (UTF-8).
* The map entries of `Features` are serialized in C++ hash-map order (not sorted, the same order
  in every record of a file). The writer below reproduces that: it emits the entries in a fixed,
  seed-dependent shuffled order, so a reader that assumes sorted keys fails.
* `dataset_info.json` `numBytes` is the sum of the serialized Example sizes of a split (no framing
  bytes: the bridge train file is 3475142 bytes = 3474742 + 25 records * 16).
* `dataset_info.json` is as TFDS writes it (the bridge file's keys, `fileFormat` included):
  per split `shardLengths` (records per shard, decimal strings), `numBytes`, `filepathTemplate`.

Defects and variations (each keeps `--expect` truthful and adds a key to it):
`--sequence-example` writes `tf.train.SequenceExample` records (`context`: the `episode_metadata/*`
keys; `feature_lists`: every `steps/*` key, one `Feature` per step; `"record_kind"` is
`sequence_example` instead of `example`); `--flags-defect` breaks episode 0's `is_first` /
`is_terminal` (`"flags_defect"`); `--truncate-shard` drops the first train shard's last record
while `shardLengths` still counts it (`"truncated_shard"`); `--stray-shard` adds a valid
`NAME-train.tfrecord-00000-of-00009` that no split lists (`"stray_shard"`).

The `tensorflow.Example` classes are built at runtime from a `FileDescriptorProto` (no protoc, no
generated `_pb2`). JPEG frames come from one `ffmpeg` call per run (an MJPEG stream split at its
SOI/EOI markers); PNG frames are written by hand with zlib.

Usage (`python make_rlds_dataset.py --help` lists every flag):

    make_rlds_dataset.py --out DIR [--name my_dataset] [--version 1.0.0] [--episodes 4]
        [--steps-min 8 --steps-max 14] [--action-dim 7] [--state-dim 8]
        [--cameras image,wrist_image|none] [--image-size 32x24] [--image-format jpeg|png]
        [--shards 1] [--val-episodes 0] [--no-instruction] [--truncated] [--noop-steps K]
        [--corrupt-crc RECORD] [--corrupt-length-crc RECORD] [--sequence-example]
        [--flags-defect mid_first|no_first|terminal_early] [--truncate-shard] [--stray-shard]
        [--seed 0] [--expect OUT.json] [--force]
    make_rlds_dataset.py --inspect PATH   # summarize a .tfrecord file or a TFDS version dir

The dataset lands in `OUT/<name>/<version>/`. `--expect OUT.json` writes what a correct reader
must produce, read back by decoding the written files (not from the in-memory arrays).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import struct
import sys
import zlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from fixture_media import (
    decode_jpegs,
    encode_jpegs,
    encode_png,
    frame_cell_means,
    make_frames,
    positive,
)
from google.protobuf import descriptor_pb2, descriptor_pool, message, message_factory

FloatArray = npt.NDArray[np.float64]
UInt8Array = npt.NDArray[np.uint8]
Json = dict[str, Any]
FeatureValue = tuple[str, list[Any]]  # (oneof kind: bytes_list | float_list | int64_list, values)

TASKS = ("pick up the red block", "put the cup on the plate", "open the top drawer")
NOOP_THRESHOLD = 1e-4  # OpenVLA regenerate_libero_dataset.py is_noop(): ||a[:-1]|| < 1e-4
TFDS = "tensorflow_datasets.core.features"
FEATURES_DICT = f"{TFDS}.features_dict.FeaturesDict"
DATASET_FEATURE = f"{TFDS}.dataset_feature.Dataset"
TENSOR = f"{TFDS}.tensor_feature.Tensor"
SCALAR = f"{TFDS}.scalar.Scalar"
TEXT = f"{TFDS}.text_feature.Text"
IMAGE = f"{TFDS}.image_feature.Image"
FILEPATH_TEMPLATE = "{DATASET}-{SPLIT}.{FILEFORMAT}-{SHARD_X_OF_Y}"
FLAGS_DEFECTS = ("mid_first", "no_first", "terminal_early")

# --------------------------------------------------------------------------- CRC32C / TFRecord

CRC32C_POLY = 0x82F63B78  # Castagnoli, reflected
MASK_DELTA = 0xA282EAD8


def _crc32c_table() -> list[int]:
    table: list[int] = []
    for n in range(256):
        crc = n
        for _ in range(8):
            crc = (crc >> 1) ^ CRC32C_POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


CRC32C_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    table = CRC32C_TABLE
    crc = 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + MASK_DELTA) & 0xFFFFFFFF


def self_check_crc() -> None:
    if crc32c(b"123456789") != 0xE3069283:
        raise SystemExit("CRC32C self-check failed: crc32c(b'123456789') != 0xE3069283")


def frame_record(data: bytes) -> bytes:
    """One TFRecord: length, masked CRC of the 8 length bytes, data, masked CRC of the data."""
    length = struct.pack("<Q", len(data))
    return (
        length
        + struct.pack("<I", masked_crc32c(length))
        + data
        + struct.pack("<I", masked_crc32c(data))
    )


@dataclass(frozen=True)
class Record:
    index: int
    offset: int  # byte offset of the record's length field in the file
    data: bytes
    length_crc_ok: bool
    data_crc_ok: bool


def read_records(path: Path) -> list[Record]:
    """Every record of a TFRecord file; CRC mismatches are reported, truncation is an error."""
    blob = path.read_bytes()
    records: list[Record] = []
    offset = 0
    while offset < len(blob):
        if offset + 12 > len(blob):
            raise SystemExit(f"{path}: truncated record header at byte {offset}")
        length_bytes = blob[offset : offset + 8]
        (length,) = struct.unpack("<Q", length_bytes)
        (length_crc,) = struct.unpack_from("<I", blob, offset + 8)
        end = offset + 12 + length + 4
        if end > len(blob):
            raise SystemExit(f"{path}: record {len(records)} runs past the end of the file")
        data = blob[offset + 12 : offset + 12 + length]
        (data_crc,) = struct.unpack_from("<I", blob, offset + 12 + length)
        records.append(
            Record(
                index=len(records),
                offset=offset,
                data=data,
                length_crc_ok=masked_crc32c(length_bytes) == length_crc,
                data_crc_ok=masked_crc32c(data) == data_crc,
            )
        )
        offset = end
    return records


# --------------------------------------------------------------------------- tf.train.Example


@dataclass(frozen=True)
class ProtoClasses:
    example: type[message.Message]
    features: type[message.Message]
    sequence_example: type[message.Message]
    feature_lists: type[message.Message]


def _add_field(
    msg: descriptor_pb2.DescriptorProto,
    name: str,
    number: int,
    kind: int,
    *,
    repeated: bool = False,
    type_name: str | None = None,
    packed: bool | None = None,
    oneof_index: int | None = None,
) -> None:
    fdp = descriptor_pb2.FieldDescriptorProto
    f = msg.field.add(name=name, number=number, type=kind, json_name=name)
    f.label = fdp.LABEL_REPEATED if repeated else fdp.LABEL_OPTIONAL
    if type_name is not None:
        f.type_name = type_name
    if packed is not None:
        f.options.packed = packed
    if oneof_index is not None:
        f.oneof_index = oneof_index


@cache
def proto_classes() -> ProtoClasses:
    """tensorflow/core/example/{feature,example}.proto, built from a descriptor at runtime."""
    fdp = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(
        name="vlatune_fixture/tf_example.proto", package="tensorflow", syntax="proto3"
    )
    bytes_list = file.message_type.add(name="BytesList")
    _add_field(bytes_list, "value", 1, fdp.TYPE_BYTES, repeated=True)
    float_list = file.message_type.add(name="FloatList")
    _add_field(float_list, "value", 1, fdp.TYPE_FLOAT, repeated=True, packed=True)
    int64_list = file.message_type.add(name="Int64List")
    _add_field(int64_list, "value", 1, fdp.TYPE_INT64, repeated=True, packed=True)
    feature = file.message_type.add(name="Feature")
    feature.oneof_decl.add(name="kind")
    for number, (name, type_name) in enumerate(
        (
            ("bytes_list", ".tensorflow.BytesList"),
            ("float_list", ".tensorflow.FloatList"),
            ("int64_list", ".tensorflow.Int64List"),
        ),
        start=1,
    ):
        _add_field(feature, name, number, fdp.TYPE_MESSAGE, type_name=type_name, oneof_index=0)
    features = file.message_type.add(name="Features")
    _add_map_field(features, "feature", "FeatureEntry", ".tensorflow.Feature")
    example = file.message_type.add(name="Example")
    _add_field(example, "features", 1, fdp.TYPE_MESSAGE, type_name=".tensorflow.Features")
    feature_list = file.message_type.add(name="FeatureList")
    _add_field(
        feature_list, "feature", 1, fdp.TYPE_MESSAGE, repeated=True, type_name=".tensorflow.Feature"
    )
    feature_lists = file.message_type.add(name="FeatureLists")
    _add_map_field(feature_lists, "feature_list", "FeatureListEntry", ".tensorflow.FeatureList")
    sequence_example = file.message_type.add(name="SequenceExample")
    _add_field(sequence_example, "context", 1, fdp.TYPE_MESSAGE, type_name=".tensorflow.Features")
    _add_field(
        sequence_example, "feature_lists", 2, fdp.TYPE_MESSAGE, type_name=".tensorflow.FeatureLists"
    )

    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)

    def find(name: str) -> type[message.Message]:
        return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"tensorflow.{name}"))

    return ProtoClasses(
        example=find("Example"),
        features=find("Features"),
        sequence_example=find("SequenceExample"),
        feature_lists=find("FeatureLists"),
    )


def _add_map_field(
    msg: descriptor_pb2.DescriptorProto, name: str, entry_name: str, value_type: str
) -> None:
    """A `map<string, value_type> name = 1;` field: its nested entry type and the field."""
    fdp = descriptor_pb2.FieldDescriptorProto
    entry = msg.nested_type.add(name=entry_name)
    entry.options.map_entry = True
    _add_field(entry, "key", 1, fdp.TYPE_STRING)
    _add_field(entry, "value", 2, fdp.TYPE_MESSAGE, type_name=value_type)
    _add_field(
        msg,
        name,
        1,
        fdp.TYPE_MESSAGE,
        repeated=True,
        type_name=f".tensorflow.{msg.name}.{entry_name}",
    )


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def encode_example(values: dict[str, FeatureValue], key_order: list[str]) -> bytes:
    """Serialize an Example whose map entries appear in `key_order` on the wire.

    A protobuf map is a repeated entry message on the wire, and concatenated serializations of a
    message merge, so `Features` is serialized one entry at a time and the entries joined.
    """
    classes = proto_classes()
    parts: list[bytes] = []
    for key in key_order:
        kind, items = values[key]
        features: Any = classes.features()
        feature = features.feature[key]
        getattr(feature, kind).SetInParent()
        getattr(feature, kind).value.extend(items)
        parts.append(features.SerializeToString())
    payload = b"".join(parts)
    data = b"\x0a" + varint(len(payload)) + payload  # Example.features, field 1, length-delimited
    parsed: Any = classes.example.FromString(data)
    if set(parsed.features.feature) != set(key_order):
        raise SystemExit("internal error: Example round trip lost keys")
    return data


def decode_example(data: bytes) -> dict[str, FeatureValue]:
    parsed: Any = proto_classes().example.FromString(data)
    out: dict[str, FeatureValue] = {}
    for key, feature in parsed.features.feature.items():
        kind = feature.WhichOneof("kind")
        if kind is None:
            out[key] = ("none", [])
        else:
            out[key] = (kind, list(getattr(feature, kind).value))
    return out


def is_step_key(key: str) -> bool:
    return key.startswith("steps/")


def encode_sequence_example(
    values: dict[str, FeatureValue], key_order: list[str], steps: int, widths: dict[str, int]
) -> bytes:
    """Serialize a SequenceExample: episode-level keys in `context`, per-step keys in
    `feature_lists` with one `Feature` per step (`widths[key]` values each), both maps in the
    `key_order` "hash" order, entry by entry as in `encode_example`.
    """
    classes = proto_classes()
    context_parts: list[bytes] = []
    list_parts: list[bytes] = []
    for key in key_order:
        kind, items = values[key]
        if not is_step_key(key):
            features: Any = classes.features()
            feature = features.feature[key]
            getattr(feature, kind).SetInParent()
            getattr(feature, kind).value.extend(items)
            context_parts.append(features.SerializeToString())
            continue
        width = widths.get(key, 1)
        if len(items) != steps * width:
            raise SystemExit(f"internal error: {key} has {len(items)} values for {steps} steps")
        lists: Any = classes.feature_lists()
        feature_list = lists.feature_list[key]
        for step in range(steps):
            feature = feature_list.feature.add()
            getattr(feature, kind).SetInParent()
            getattr(feature, kind).value.extend(items[step * width : (step + 1) * width])
        list_parts.append(lists.SerializeToString())
    context = b"".join(context_parts)
    feature_lists = b"".join(list_parts)
    data = b"\x0a" + varint(len(context)) + context  # SequenceExample.context, field 1
    data += b"\x12" + varint(len(feature_lists)) + feature_lists  # .feature_lists, field 2
    parsed: Any = classes.sequence_example.FromString(data)
    keys = set(parsed.context.feature) | set(parsed.feature_lists.feature_list)
    if keys != set(key_order):
        raise SystemExit("internal error: SequenceExample round trip lost keys")
    return data


def record_kind(data: bytes) -> str:
    """`sequence_example` when the record parses as one with feature lists, else `example`.

    An Example's field 1 (`features`) reads as a SequenceExample's `context`; only a
    SequenceExample has field 2 (`feature_lists`).
    """
    parsed: Any = proto_classes().sequence_example.FromString(data)
    return "sequence_example" if parsed.HasField("feature_lists") else "example"


def decode_sequence_example(data: bytes) -> tuple[dict[str, FeatureValue], dict[str, list[int]]]:
    """The flattened values (as `decode_example` gives for an Example: a per-step key's values
    concatenated step-major) and, per feature list, the number of values of each step's Feature.
    """
    parsed: Any = proto_classes().sequence_example.FromString(data)
    out: dict[str, FeatureValue] = {}
    per_step: dict[str, list[int]] = {}
    for key, feature in parsed.context.feature.items():
        kind = feature.WhichOneof("kind")
        out[key] = ("none", []) if kind is None else (kind, list(getattr(feature, kind).value))
    for key, feature_list in parsed.feature_lists.feature_list.items():
        kinds = {f.WhichOneof("kind") for f in feature_list.feature}
        if len(kinds) > 1:
            raise SystemExit(f"{key}: the steps' Features mix kinds {sorted(map(str, kinds))}")
        kind = kinds.pop() if kinds else None
        values: list[Any] = []
        counts: list[int] = []
        for f in feature_list.feature:
            items = list(getattr(f, kind).value) if kind is not None else []
            values += items
            counts.append(len(items))
        out[key] = ("none", []) if kind is None else (kind, values)
        per_step[key] = counts
    return out, per_step


def decode_record(data: bytes) -> dict[str, FeatureValue]:
    if record_kind(data) == "sequence_example":
        return decode_sequence_example(data)[0]
    return decode_example(data)


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, pos


def map_wire_keys(body: bytes) -> list[str]:
    """The keys of a serialized message whose field 1 is a string-keyed map, in wire order."""
    keys: list[str] = []
    inner = 0
    while inner < len(body):
        _tag, inner = read_varint(body, inner)
        entry_len, inner = read_varint(body, inner)
        entry = body[inner : inner + entry_len]
        inner += entry_len
        key_tag, q = read_varint(entry, 0)
        if key_tag == 0x0A:
            key_len, q = read_varint(entry, q)
            keys.append(entry[q : q + key_len].decode())
    return keys


def top_level_fields(data: bytes) -> list[tuple[int, bytes]]:
    """(tag, body) of each length-delimited top-level field, in wire order."""
    fields: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        tag, pos = read_varint(data, pos)
        length, pos = read_varint(data, pos)
        fields.append((tag, data[pos : pos + length]))
        pos += length
    return fields


def wire_key_order(data: bytes) -> list[str]:
    """The Features map keys in the order they are serialized (walks the wire format)."""
    keys: list[str] = []
    for tag, body in top_level_fields(data):
        if tag == 0x0A:
            keys += map_wire_keys(body)
    return keys


def sequence_wire_key_order(data: bytes) -> list[str]:
    """A SequenceExample's keys in wire order: `context` entries, then `feature_lists` entries."""
    fields = top_level_fields(data)
    keys: list[str] = []
    for wanted in (0x0A, 0x12):  # context (field 1), feature_lists (field 2)
        for tag, body in fields:
            if tag == wanted:
                keys += map_wire_keys(body)
    return keys


# --------------------------------------------------------------------------- images


def decode_png(data: bytes) -> UInt8Array:
    """Decode an 8-bit RGB / RGBA / gray, non-interlaced PNG (all five row filters)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit("not a PNG")
    pos, idat = 8, b""
    width = height = color = 0
    while pos < len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        tag = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if tag == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or interlace != 0 or color not in (0, 2, 6):
                raise SystemExit("unsupported PNG variant")
        elif tag == b"IDAT":
            idat += body
    channels = {0: 1, 2: 3, 6: 4}[color]
    stride = width * channels
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.int32)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        kind, line = int(raw[y, 0]), raw[y, 1:].astype(np.int32)
        if kind == 0:
            row = line
        elif kind == 2:
            row = (line + prev) & 0xFF
        else:
            row = np.zeros(stride, dtype=np.int32)
            for x in range(stride):
                a = int(row[x - channels]) if x >= channels else 0
                b = int(prev[x])
                c = int(prev[x - channels]) if x >= channels else 0
                if kind == 1:
                    pred = a
                elif kind == 3:
                    pred = (a + b) // 2
                else:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                row[x] = (int(line[x]) + pred) & 0xFF
        out[y] = row
        prev = row
    image = out.astype(np.uint8).reshape(height, width, channels)
    return image[..., :3] if channels == 4 else image


# --------------------------------------------------------------------------- synthesis


@dataclass(frozen=True)
class Options:
    out: Path
    name: str
    version: str
    episodes: int
    steps_min: int
    steps_max: int
    action_dim: int
    state_dim: int
    cameras: tuple[str, ...]
    image_height: int
    image_width: int
    image_format: str
    shards: int
    val_episodes: int
    instruction: bool
    truncated: bool
    noop_steps: int
    corrupt_crc: int | None
    corrupt_length_crc: int | None
    seed: int
    expect: Path | None
    force: bool
    sequence_example: bool = False
    flags_defect: str | None = None
    truncate_shard: bool = False
    stray_shard: bool = False

    @property
    def root(self) -> Path:
        return self.out / self.name / self.version


@dataclass
class Episode:
    split: str
    episode_id: int
    instruction: str
    actions: FloatArray  # float32-representable values
    states: FloatArray
    noop_steps: list[int]
    still_gripper_steps: list[int]
    frames: dict[str, UInt8Array] = field(default_factory=dict)
    encoded: dict[str, list[bytes]] = field(default_factory=dict)

    @property
    def length(self) -> int:
        return int(self.actions.shape[0])


def make_episode(opts: Options, rng: np.random.Generator, index: int, split: str) -> Episode:
    n = int(rng.integers(opts.steps_min, opts.steps_max + 1))
    a_dim, s_dim = opts.action_dim, opts.state_dim
    t = np.arange(n, dtype=np.float64)[:, None]
    phase = rng.uniform(0, 2 * np.pi, size=a_dim)
    freq = rng.uniform(0.1, 0.4, size=a_dim)
    centre = rng.uniform(-0.3, 0.3, size=a_dim)
    actions = centre + 0.2 * np.sin(phase + freq * t) + rng.normal(0.0, 0.05, size=(n, a_dim))
    noops = sorted(int(i) for i in rng.choice(n, size=opts.noop_steps, replace=False))
    close_at = int(rng.integers(1, n))  # gripper: 1 (open) until close_at, then 0 (closed)
    gripper = 1.0
    still: list[int] = []
    for i in range(n):
        if i in noops:  # LIBERO-style no-op: arm still, gripper unchanged
            actions[i, :-1] = 0.0
            actions[i, -1] = gripper
            continue
        target = 1.0 if i < close_at else 0.0
        if target != gripper and opts.noop_steps > 0:
            actions[i, :-1] = 0.0  # arm still while the gripper closes: NOT a no-op
            still.append(i)
        gripper = target
        actions[i, -1] = gripper
        if i not in still and np.linalg.norm(actions[i, :-1]) < 10 * NOOP_THRESHOLD:
            actions[i, 0] += 0.05  # keep moving steps clearly above the no-op threshold
    states = np.zeros((n, s_dim))
    if s_dim:
        walk = np.cumsum(rng.normal(0.0, 0.2, size=(n, s_dim)), axis=0)
        states = rng.uniform(-1.0, 1.0, size=s_dim) + 0.3 * np.tanh(walk)
        for i in noops:  # the robot does not move during a no-op step
            if i > 0:
                states[i] = states[i - 1]
    return Episode(
        split=split,
        episode_id=index,
        instruction=TASKS[index % len(TASKS)],
        actions=actions.astype(np.float32).astype(np.float64),
        states=states.astype(np.float32).astype(np.float64),
        noop_steps=noops,
        still_gripper_steps=still,
    )


def make_episodes(opts: Options) -> list[Episode]:
    rng = np.random.default_rng(opts.seed)
    episodes = [make_episode(opts, rng, i, "train") for i in range(opts.episodes)]
    episodes += [
        make_episode(opts, rng, opts.episodes + i, "val") for i in range(opts.val_episodes)
    ]
    h, w = opts.image_height, opts.image_width
    for number, ep in enumerate(episodes):
        for cam, key in enumerate(opts.cameras):
            ep.frames[key] = make_frames(h, w, number, cam, ep.length)
    encode_all_frames(opts, episodes)
    return episodes


def encode_all_frames(opts: Options, episodes: list[Episode]) -> None:
    if not opts.cameras:
        return
    if opts.image_format == "png":
        for ep in episodes:
            ep.encoded = {k: [encode_png(f) for f in frames] for k, frames in ep.frames.items()}
        return
    stacked = np.concatenate([ep.frames[k] for ep in episodes for k in opts.cameras])
    jpegs = encode_jpegs(stacked)
    pos = 0
    for ep in episodes:
        for key in opts.cameras:
            ep.encoded[key] = jpegs[pos : pos + ep.length]
            pos += ep.length


# --------------------------------------------------------------------------- TFDS metadata


def tensor_feature(shape: list[int], dtype: str, description: str) -> Json:
    return {
        "pythonClassName": TENSOR,
        "tensor": {
            "shape": {"dimensions": [str(d) for d in shape]},
            "dtype": dtype,
            "encoding": "none",
        },
        "description": description,
    }


def scalar_feature(dtype: str, description: str) -> Json:
    return {
        "pythonClassName": SCALAR,
        "tensor": {"shape": {}, "dtype": dtype, "encoding": "none"},
        "description": description,
    }


def text_feature(description: str) -> Json:
    return {"pythonClassName": TEXT, "text": {}, "description": description}


def image_feature(opts: Options, description: str) -> Json:
    return {
        "pythonClassName": IMAGE,
        "image": {
            "shape": {"dimensions": [str(opts.image_height), str(opts.image_width), "3"]},
            "dtype": "uint8",
            "encodingFormat": opts.image_format,
        },
        "description": description,
    }


def features_dict(features: Json) -> Json:
    return {"pythonClassName": FEATURES_DICT, "featuresDict": {"features": features}}


def build_features(opts: Options) -> Json:
    """features.json in the shape TFDS writes (the bridge dataset's, feature for feature)."""
    observation: Json = {}
    for key in opts.cameras:
        observation[key] = image_feature(opts, f"Camera RGB observation ({key}).")
    if opts.state_dim:
        observation["state"] = tensor_feature(
            [opts.state_dim], "float32", "Robot state (EEF pose and gripper)."
        )
    step: Json = {
        "action": tensor_feature(
            [opts.action_dim], "float32", "Robot action: [dx, dy, dz, droll, dpitch, dyaw, grip]."
        ),
        "discount": scalar_feature("float32", "Discount if provided, default to 1."),
        "is_first": scalar_feature("bool", "True on first step of the episode."),
        "is_last": scalar_feature("bool", "True on last step of the episode."),
        "is_terminal": scalar_feature(
            "bool", "True on last step of the episode if it is a terminal step, True for demos."
        ),
        "observation": features_dict(observation),
        "reward": scalar_feature("float32", "Reward if provided, 1 on final step for demos."),
    }
    if opts.instruction:
        step["language_instruction"] = text_feature("Language Instruction.")
    return features_dict(
        {
            "steps": {
                "pythonClassName": DATASET_FEATURE,
                "sequence": {"feature": features_dict(step), "length": "-1"},
            },
            "episode_metadata": features_dict(
                {
                    "file_path": text_feature("Path to the original data file."),
                    "episode_id": scalar_feature("int32", "ID of episode in file_path."),
                }
            ),
        }
    )


def shard_file(opts: Options, split: str, shard: int, num_shards: int) -> str:
    return f"{opts.name}-{split}.tfrecord-{shard:05d}-of-{num_shards:05d}"


def build_dataset_info(opts: Options, splits: list[tuple[str, int, list[int]]]) -> Json:
    """dataset_info.json as TFDS writes it (int64 proto fields are JSON strings)."""
    return {
        "citation": "// vlatune test fixture; no citation",
        "description": "Synthetic RLDS episodes written by vlatune's make_rlds_dataset.py.",
        "fileFormat": "tfrecord",
        "moduleName": f"{opts.name}.{opts.name}_dataset_builder",
        "name": opts.name,
        "releaseNotes": {opts.version: "Initial release."},
        "splits": [
            {
                "filepathTemplate": FILEPATH_TEMPLATE,
                "name": split,
                "numBytes": str(num_bytes),
                "shardLengths": [str(n) for n in lengths],
            }
            for split, num_bytes, lengths in splits
        ],
        "version": opts.version,
    }


# --------------------------------------------------------------------------- writing


def episode_values(opts: Options, ep: Episode, file_path: str) -> dict[str, FeatureValue]:
    n = ep.length
    last = [0] * n
    reward = [0.0] * n
    if not opts.truncated:
        last[-1] = 1
        reward[-1] = 1.0
    first = [1] + [0] * (n - 1)
    terminal = list(last)
    if opts.flags_defect is not None and ep.split == "train" and ep.episode_id == 0:
        if opts.flags_defect == "mid_first":
            first[2] = 1
        elif opts.flags_defect == "no_first":
            first[0] = 0
        else:  # terminal_early
            terminal[1] = 1
    values: dict[str, FeatureValue] = {
        "steps/action": ("float_list", ep.actions.reshape(-1).tolist()),
        "steps/discount": ("float_list", [1.0] * n),
        "steps/is_first": ("int64_list", first),
        "steps/is_last": ("int64_list", last),
        "steps/is_terminal": ("int64_list", terminal),
        "steps/reward": ("float_list", reward),
        "episode_metadata/file_path": ("bytes_list", [file_path.encode()]),
        "episode_metadata/episode_id": ("int64_list", [ep.episode_id]),
    }
    if opts.state_dim:
        values["steps/observation/state"] = ("float_list", ep.states.reshape(-1).tolist())
    if opts.instruction:
        values["steps/language_instruction"] = ("bytes_list", [ep.instruction.encode()] * n)
    for key in opts.cameras:
        values[f"steps/observation/{key}"] = ("bytes_list", list(ep.encoded[key]))
    return values


def shard_lengths(count: int, shards: int) -> list[int]:
    bounds = [round(count * (i + 1) / shards) for i in range(shards)]
    return [b - a for a, b in zip([0, *bounds[:-1]], bounds, strict=True)]


def serialize_episode(
    opts: Options, ep: Episode, values: dict[str, FeatureValue], order: list[str]
) -> bytes:
    if not opts.sequence_example:
        return encode_example(values, order)
    widths = {"steps/action": opts.action_dim, "steps/observation/state": opts.state_dim}
    return encode_sequence_example(values, order, ep.length, widths)


def write_dataset(opts: Options, episodes: list[Episode]) -> None:
    root = opts.root
    order_rng = np.random.default_rng([opts.seed, 0x5EED])
    key_order: list[str] | None = None
    split_info: list[tuple[str, int, list[int]]] = []
    for split in ("train", "val"):
        split_eps = [ep for ep in episodes if ep.split == split]
        if not split_eps:
            continue
        num_shards = min(opts.shards, len(split_eps))
        lengths = shard_lengths(len(split_eps), num_shards)
        total_bytes = 0
        pos = 0
        for shard, count in enumerate(lengths):
            blob = bytearray()
            for ep in split_eps[pos : pos + count]:
                file_path = f"/data/raw/{opts.name}/{split}/episode_{ep.episode_id:04d}.npy"
                values = episode_values(opts, ep, file_path)
                if key_order is None:  # one fixed "hash" order for every record, like TF
                    key_order = [str(k) for k in order_rng.permutation(sorted(values))]
                data = serialize_episode(opts, ep, values, key_order)
                total_bytes += len(data)
                blob += frame_record(data)
            pos += count
            (root / shard_file(opts, split, shard, num_shards)).write_bytes(bytes(blob))
        split_info.append((split, total_bytes, lengths))
    (root / "features.json").write_text(json.dumps(build_features(opts), indent=4) + "\n")
    info = build_dataset_info(opts, split_info)
    (root / "dataset_info.json").write_text(json.dumps(info, indent=2) + "\n")
    corrupt(opts, split_info)
    if opts.truncate_shard:
        truncate_first_shard(opts, split_info)
    if opts.stray_shard and key_order is not None:
        write_stray_shard(opts, len(episodes), len(split_info[0][2]), key_order)


def truncate_first_shard(opts: Options, split_info: list[tuple[str, int, list[int]]]) -> None:
    """Rewrite the first train shard without its last record; dataset_info.json still lists it."""
    path = opts.root / shard_file(opts, "train", 0, len(split_info[0][2]))
    records = read_records(path)
    path.write_bytes(path.read_bytes()[: records[-1].offset])


def stray_shard_file(opts: Options, num_shards: int) -> str:
    """A train shard name of another shard count (`-of-00009`), which dataset_info.json lacks."""
    return shard_file(opts, "train", 0, 9 if num_shards != 9 else 10)


def write_stray_shard(opts: Options, number: int, num_shards: int, key_order: list[str]) -> None:
    """One valid extra episode in a file named like a train shard that no split lists (left over
    from an earlier build with another shard count); a reader following dataset_info.json skips it.
    Its own RNG, so the listed episodes are the ones written without `--stray-shard`.
    """
    rng = np.random.default_rng([opts.seed, 0x57A7])
    ep = make_episode(opts, rng, 9000 + number, "train")
    for cam, key in enumerate(opts.cameras):
        ep.frames[key] = make_frames(opts.image_height, opts.image_width, number, cam, ep.length)
    encode_all_frames(opts, [ep])
    file_path = f"/data/raw/{opts.name}/stray/episode_{ep.episode_id:04d}.npy"
    data = serialize_episode(opts, ep, episode_values(opts, ep, file_path), key_order)
    (opts.root / stray_shard_file(opts, num_shards)).write_bytes(frame_record(data))


def corrupt(opts: Options, split_info: list[tuple[str, int, list[int]]]) -> None:
    targets = [(opts.corrupt_crc, "data"), (opts.corrupt_length_crc, "length")]
    if all(t is None for t, _ in targets):
        return
    num_shards = len(split_info[0][2])
    path = opts.root / shard_file(opts, "train", 0, num_shards)
    records = read_records(path)
    blob = bytearray(path.read_bytes())
    for target, kind in targets:
        if target is None:
            continue
        if target >= len(records):
            raise SystemExit(f"--corrupt-*: {path.name} has only {len(records)} records")
        rec = records[target]
        where = rec.offset + 8 if kind == "length" else rec.offset + 12 + len(rec.data)
        blob[where] ^= 0x01
    path.write_bytes(bytes(blob))


# --------------------------------------------------------------------------- expectations


def is_noop(action: list[float], prev: list[float] | None) -> bool:
    """OpenVLA's rule (regenerate_libero_dataset.py): still arm and, after step 0, same gripper."""
    still = float(np.linalg.norm(np.asarray(action[:-1], dtype=np.float64))) < NOOP_THRESHOLD
    return still if prev is None else still and action[-1] == prev[-1]


def chunk_rows(values: list[float], width: int) -> list[list[float]]:
    return [values[i : i + width] for i in range(0, len(values), width)] if width else []


def read_expectations(root: Path, short_shards: list[Json] | None = None) -> Json:
    """What a correct reader must produce, decoded from the files on disk only.

    A shard with fewer records than its `shardLengths` entry is an error unless `short_shards`
    is given: then it is appended there (`file`, `records_listed`, `records_present`) and the
    records present are read (the split's `numBytes` then covers records that are gone).
    """
    features = json.loads((root / "features.json").read_text())
    info = json.loads((root / "dataset_info.json").read_text())
    step = features["featuresDict"]["features"]["steps"]["sequence"]["feature"]["featuresDict"]
    obs = step["features"]["observation"]["featuresDict"]["features"]
    cameras = sorted(k for k, f in obs.items() if f["pythonClassName"] == IMAGE)
    sizes = {k: [int(d) for d in obs[k]["image"]["shape"]["dimensions"][:2]] for k in cameras}
    formats = {k: obs[k]["image"]["encodingFormat"] for k in cameras}
    action_dim = int(step["features"]["action"]["tensor"]["shape"]["dimensions"][0])
    state_dim = int(obs["state"]["tensor"]["shape"]["dimensions"][0]) if "state" in obs else 0

    episodes: list[Json] = []
    crc_errors: list[Json] = []
    files: dict[str, list[str]] = {}
    keys: dict[str, str] = {}
    key_order: list[str] = []
    kinds: set[str] = set()
    for split in info["splits"]:
        names = [
            f"{info['name']}-{split['name']}.tfrecord-{i:05d}-of-{len(split['shardLengths']):05d}"
            for i in range(len(split["shardLengths"]))
        ]
        files[split["name"]] = names
        num_bytes = 0
        short = False
        for name, expected_count in zip(names, split["shardLengths"], strict=True):
            records = read_records(root / name)
            if len(records) < int(expected_count) and short_shards is not None:
                short_shards.append(
                    {
                        "file": name,
                        "records_listed": int(expected_count),
                        "records_present": len(records),
                    }
                )
                short = True
            elif len(records) != int(expected_count):
                raise SystemExit(
                    f"{name}: {len(records)} records, shardLengths says {expected_count}"
                )
            for rec in records:
                num_bytes += len(rec.data)
                for ok, kind in ((rec.length_crc_ok, "length"), (rec.data_crc_ok, "data")):
                    if not ok:
                        crc_errors.append(
                            {"file": name, "record": rec.index, "kind": kind, "offset": rec.offset}
                        )
                kind = record_kind(rec.data)
                kinds.add(kind)
                if kind == "sequence_example":
                    values, per_step = decode_sequence_example(rec.data)
                    check_feature_lists(values, per_step, action_dim, state_dim, name, rec.index)
                else:
                    values = decode_example(rec.data)
                if not keys:
                    keys = {k: v[0] for k, v in sorted(values.items())}
                    if kind == "sequence_example":
                        key_order = sequence_wire_key_order(rec.data)
                    else:
                        key_order = wire_key_order(rec.data)
                episodes.append(
                    episode_expectation(values, cameras, formats, sizes, action_dim, state_dim)
                    | {
                        "index": len(episodes),
                        "split": split["name"],
                        "file": name,
                        "record": rec.index,
                    }
                )
        if num_bytes != int(split["numBytes"]) and not short:
            raise SystemExit(f"split {split['name']}: numBytes mismatch")
    if len(kinds) > 1:
        raise SystemExit(f"records of both kinds: {sorted(kinds)}")
    return {
        "record_kind": kinds.pop() if kinds else "example",
        "name": info["name"],
        "version": info["version"],
        "files": files,
        "keys": keys,
        "wire_key_order": key_order,
        "cameras": cameras,
        "image_sizes": sizes,
        "image_format": formats[cameras[0]] if cameras else None,
        "action_dim": action_dim,
        "state_dim": state_dim,
        "has_instruction": "language_instruction" in step["features"],
        "total_steps": sum(e["length"] for e in episodes),
        "episodes_with_is_last": sum(1 for e in episodes if any(e["is_last"])),
        "noop_steps_per_episode": [e["noop_steps"] for e in episodes],
        "still_gripper_steps_per_episode": [e["still_gripper_steps"] for e in episodes],
        "crc_errors": crc_errors,
        "episodes": episodes,
    }


def check_feature_lists(
    values: dict[str, FeatureValue],
    per_step: dict[str, list[int]],
    action_dim: int,
    state_dim: int,
    file: str,
    record: int,
) -> None:
    """A SequenceExample has one Feature per step in every feature list, each of the key's width
    (a vector's dim, else one value); context holds only episode-level keys."""
    n = len(per_step.get("steps/is_first", []))
    widths = {"steps/action": action_dim, "steps/observation/state": state_dim}
    for key in values:
        if is_step_key(key) != (key in per_step):
            raise SystemExit(f"{file} record {record}: {key} is in the wrong part of the record")
    for key, counts in per_step.items():
        if counts != [widths.get(key, 1)] * n:
            raise SystemExit(f"{file} record {record}: {key} has per-step sizes {counts}")


def episode_expectation(
    values: dict[str, FeatureValue],
    cameras: list[str],
    formats: dict[str, str],
    sizes: dict[str, list[int]],
    action_dim: int,
    state_dim: int,
) -> Json:
    n = len(values["steps/is_first"][1])
    actions = chunk_rows(values["steps/action"][1], action_dim)
    states = chunk_rows(values["steps/observation/state"][1], state_dim) if state_dim else []
    if len(actions) != n or (state_dim and len(states) != n):
        raise SystemExit("steps/action or steps/observation/state is not n × dim")
    instruction = None
    if "steps/language_instruction" in values:
        texts = {bytes(v).decode() for v in values["steps/language_instruction"][1]}
        instruction = texts.pop() if len(texts) == 1 else sorted(texts)
    noops = [i for i in range(n) if is_noop(actions[i], actions[i - 1] if i else None)]
    still = [
        i
        for i in range(1, n)
        if i not in noops and is_noop(actions[i], None) and actions[i][-1] != actions[i - 1][-1]
    ]
    entry: Json = {
        "length": n,
        "instruction": instruction,
        "file_path": bytes(values["episode_metadata/file_path"][1][0]).decode(),
        "episode_id": int(values["episode_metadata/episode_id"][1][0]),
        "actions": actions,
        "states": states,
        "is_first": [int(v) for v in values["steps/is_first"][1]],
        "is_last": [int(v) for v in values["steps/is_last"][1]],
        "is_terminal": [int(v) for v in values["steps/is_terminal"][1]],
        "reward": list(values["steps/reward"][1]),
        "discount": list(values["steps/discount"][1]),
        "noop_steps": noops,
        "still_gripper_steps": still,
        "image_sha256": {},
        "image_cell_means": {},
    }
    raw_sha: Json = {}
    for cam in cameras:
        blobs = [bytes(b) for b in values[f"steps/observation/{cam}"][1]]
        if len(blobs) != n:
            raise SystemExit(f"steps/observation/{cam}: {len(blobs)} images for {n} steps")
        entry["image_sha256"][cam] = [hashlib.sha256(b).hexdigest() for b in blobs]
        h, w = sizes[cam]
        if formats[cam] == "png":
            decoded = np.stack([decode_png(b) for b in blobs])
            raw_sha[cam] = [hashlib.sha256(f.tobytes()).hexdigest() for f in decoded]
        else:
            decoded = decode_jpegs(blobs, h, w)
        if decoded.shape[1:] != (h, w, 3):
            raise SystemExit(f"{cam}: decoded {decoded.shape[1:]}, features.json says {h}x{w}")
        entry["image_cell_means"][cam] = frame_cell_means(decoded)
    if raw_sha:
        entry["image_sha256_raw"] = raw_sha  # exact decoded pixels; PNG only (JPEG is lossy)
    return entry


def defect_expectations(opts: Options, expect: Json, short: list[Json]) -> Json:
    """The expectation keys of `--flags-defect`, `--truncate-shard` and `--stray-shard`, each
    checked against what was decoded from the files."""
    extra: Json = {}
    if opts.flags_defect is not None:
        ep = expect["episodes"][0]
        n = ep["length"]
        found = {
            "mid_first": ep["is_first"][0] == 1 and ep["is_first"][2] == 1,
            "no_first": ep["is_first"][0] == 0,
            "terminal_early": ep["is_terminal"][1] == 1 and ep["is_last"][1] == 0 and n > 2,
        }
        if not found[opts.flags_defect]:
            raise SystemExit(f"internal error: episode 0 does not show {opts.flags_defect}")
        extra["flags_defect"] = {"episode": 0, "kind": opts.flags_defect}
    if opts.truncate_shard:
        if len(short) != 1 or short[0]["records_present"] != short[0]["records_listed"] - 1:
            raise SystemExit(f"internal error: truncated shards read back as {short}")
        extra["truncated_shard"] = short[0]
    if opts.stray_shard:
        name = stray_shard_file(opts, len(expect["files"]["train"]))
        records = read_records(opts.root / name)
        if len(records) != 1 or not (records[0].length_crc_ok and records[0].data_crc_ok):
            raise SystemExit(f"internal error: {name} is not one valid record")
        decode_record(records[0].data)
        if any(name in files for files in expect["files"].values()):
            raise SystemExit(f"internal error: dataset_info.json lists {name}")
        extra["stray_shard"] = name
    return extra


def inspect(path: Path) -> Json:
    """Summarize a TFRecord file (or every shard of a TFDS version dir) by decoding it."""
    paths = sorted(path.glob("*.tfrecord-*")) if path.is_dir() else [path]
    out: Json = {}
    for p in paths:
        records = read_records(p)
        summary: Json = {
            "records": len(records),
            "bytes": p.stat().st_size,
            "serialized_example_bytes": sum(len(r.data) for r in records),
            "crc_ok": all(r.length_crc_ok and r.data_crc_ok for r in records),
        }
        if records:
            first = decode_record(records[0].data)
            if record_kind(records[0].data) == "sequence_example":
                summary["record_kind"] = "sequence_example"  # absent: tf.train.Example
                summary["wire_key_order"] = sequence_wire_key_order(records[0].data)
            else:
                summary["wire_key_order"] = wire_key_order(records[0].data)
            summary["keys_record_0"] = {k: [v[0], len(v[1])] for k, v in sorted(first.items())}
            summary["steps_per_record"] = [
                len(decode_record(r.data)["steps/is_first"][1]) for r in records
            ]
            summary["is_last_sum_per_record"] = [
                sum(decode_record(r.data)["steps/is_last"][1]) for r in records
            ]
        out[p.name] = summary
    return out


# --------------------------------------------------------------------------- CLI


def non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, help="data dir; the dataset goes to OUT/NAME/VERSION")
    parser.add_argument("--inspect", type=Path, help="summarize a .tfrecord file or version dir")
    parser.add_argument("--name", default="my_dataset")
    parser.add_argument("--version", default="1.0.0")
    parser.add_argument("--episodes", type=positive, default=4, help="train episodes")
    parser.add_argument("--steps-min", type=positive, default=8)
    parser.add_argument("--steps-max", type=positive, default=14)
    parser.add_argument("--action-dim", type=positive, default=7, help=">= 2: arm dims + gripper")
    parser.add_argument("--state-dim", type=non_negative, default=8, help="0: no state feature")
    parser.add_argument(
        "--cameras", default="image,wrist_image", help="names under steps/observation, or none"
    )
    parser.add_argument("--image-size", default="32x24", help="WIDTHxHEIGHT")
    parser.add_argument("--image-format", choices=("jpeg", "png"), default="jpeg")
    parser.add_argument("--shards", type=positive, default=1)
    parser.add_argument("--val-episodes", type=non_negative, default=0)
    parser.add_argument("--no-instruction", action="store_true")
    parser.add_argument(
        "--truncated", action="store_true", help="no is_last/is_terminal=1 anywhere (as bridge)"
    )
    parser.add_argument(
        "--noop-steps",
        type=non_negative,
        default=0,
        help="K still-arm, same-gripper steps per episode (LIBERO no-ops)",
    )
    parser.add_argument("--corrupt-crc", type=non_negative, metavar="RECORD")
    parser.add_argument("--corrupt-length-crc", type=non_negative, metavar="RECORD")
    parser.add_argument(
        "--sequence-example",
        action="store_true",
        help="records are tf.train.SequenceExample (context + one Feature per step)",
    )
    parser.add_argument(
        "--flags-defect",
        choices=FLAGS_DEFECTS,
        help="episode 0: mid_first (is_first also at step 2), no_first (is_first 0 at step 0), "
        "terminal_early (is_terminal 1 at step 1)",
    )
    parser.add_argument(
        "--truncate-shard",
        action="store_true",
        help="drop the first train shard's last record (dataset_info.json still counts it)",
    )
    parser.add_argument(
        "--stray-shard",
        action="store_true",
        help="an extra valid train shard of another shard count that dataset_info.json lacks",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--expect", type=Path)
    parser.add_argument("--force", action="store_true", help="replace OUT/NAME/VERSION")
    return parser


def parse_args(argv: list[str] | None = None) -> Options | Path:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.inspect is not None:
        return Path(args.inspect)
    if args.out is None:
        parser.error("--out is required (unless --inspect)")
    if args.steps_min > args.steps_max:
        parser.error("--steps-min must be <= --steps-max")
    try:
        width, height = (int(part) for part in args.image_size.lower().split("x"))
    except ValueError:
        parser.error("--image-size must look like 32x24")
    if width < 8 or height < 8:
        parser.error("--image-size must be at least 8x8")
    cams = [] if args.cameras.strip() == "none" else args.cameras.split(",")
    cameras = tuple(c.strip() for c in cams if c.strip())
    if any("/" in c for c in cameras) or len(set(cameras)) != len(cameras):
        parser.error("--cameras: names must be distinct and contain no '/'")
    if "state" in cameras:
        parser.error("--cameras: 'state' is the state feature's name")
    if args.noop_steps and args.noop_steps > args.steps_min - 2:
        parser.error("--noop-steps must be <= --steps-min - 2")
    if args.action_dim < 2:
        parser.error("--action-dim must be >= 2 (arm dims + a last gripper dim)")
    if args.shards > args.episodes:
        parser.error("--shards must be <= --episodes")
    if args.flags_defect is not None and args.steps_min < 3:
        parser.error("--flags-defect needs --steps-min >= 3")
    if args.truncate_shard and shard_lengths(args.episodes, args.shards)[0] < 2:
        parser.error("--truncate-shard: the first shard needs at least 2 records")
    for flag in ("corrupt_crc", "corrupt_length_crc"):
        value = getattr(args, flag)
        if value is not None and value >= shard_lengths(args.episodes, args.shards)[0]:
            parser.error(f"--{flag.replace('_', '-')}: the first shard has fewer records")
    return Options(
        out=args.out,
        name=args.name,
        version=args.version,
        episodes=args.episodes,
        steps_min=args.steps_min,
        steps_max=args.steps_max,
        action_dim=args.action_dim,
        state_dim=args.state_dim,
        cameras=cameras,
        image_height=height,
        image_width=width,
        image_format=args.image_format,
        shards=args.shards,
        val_episodes=args.val_episodes,
        instruction=not args.no_instruction,
        truncated=args.truncated,
        noop_steps=args.noop_steps,
        corrupt_crc=args.corrupt_crc,
        corrupt_length_crc=args.corrupt_length_crc,
        seed=args.seed,
        expect=args.expect,
        force=args.force,
        sequence_example=args.sequence_example,
        flags_defect=args.flags_defect,
        truncate_shard=args.truncate_shard,
        stray_shard=args.stray_shard,
    )


def prepare_out(opts: Options) -> None:
    root = opts.root
    if root.exists() and any(root.iterdir()):
        if not opts.force:
            raise SystemExit(f"{root} is not empty (use --force to replace a dataset there)")
        if not (root / "dataset_info.json").is_file():
            raise SystemExit(f"{root} does not look like a TFDS dataset; refusing to clear it")
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)


def main(argv: list[str] | None = None) -> int:
    self_check_crc()
    parsed = parse_args(argv)
    if isinstance(parsed, Path):
        print(json.dumps(inspect(parsed), indent=1))
        return 0
    opts = parsed
    prepare_out(opts)
    episodes = make_episodes(opts)
    write_dataset(opts, episodes)
    if opts.expect is not None:
        short: list[Json] = []
        expect = read_expectations(opts.root, short if opts.truncate_shard else None)
        present = episodes
        if opts.truncate_shard:
            dropped = shard_lengths(opts.episodes, opts.shards)[0] - 1  # train episode index
            present = [ep for i, ep in enumerate(episodes) if i != dropped]
        for ep, written in zip(expect["episodes"], present, strict=True):
            if ep["noop_steps"] != written.noop_steps:
                raise SystemExit("internal error: decoded no-op steps differ from the inserted")
        expect |= defect_expectations(opts, expect, short)
        opts.expect.parent.mkdir(parents=True, exist_ok=True)
        opts.expect.write_text(json.dumps(expect) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
