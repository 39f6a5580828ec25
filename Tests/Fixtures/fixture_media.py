"""Helpers shared by the fixture generators in this directory.

Frame synthesis, a hand-written PNG encoder, and JPEG encode/decode through the ffmpeg CLI,
used by `make_lerobot_dataset.py`, `make_rlds_dataset.py` and `make_hdf5_dataset.py`. The
generators run as scripts, so `import fixture_media` resolves through the script's own
directory (`sys.path[0]`).
"""

from __future__ import annotations

import argparse
import struct
import subprocess
import zlib

import numpy as np
import numpy.typing as npt

UInt8Array = npt.NDArray[np.uint8]

FFMPEG = "/usr/bin/ffmpeg"


# --------------------------------------------------------------------------- frames


def make_frames(h: int, w: int, episode: int, camera: int, n: int) -> UInt8Array:
    """Smooth gradient plus a moving square: cheap to encode, different on every frame."""
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.empty((h, w, 3), dtype=np.uint8)
    base[..., 0] = (xx * 255) // max(w - 1, 1)
    base[..., 1] = (yy * 255) // max(h - 1, 1)
    base[..., 2] = (37 * episode + 91 * camera) % 256
    side = max(2, min(h, w) // 4)
    frames = np.repeat(base[None], n, axis=0)
    for f in range(n):
        x0 = (3 * f + 5 * camera) % max(w - side, 1)
        y0 = (2 * f + episode) % max(h - side, 1)
        frames[f, y0 : y0 + side, x0 : x0 + side] = (255, 255 - 20 * camera, (40 * f) % 256)
    return frames


def frame_cell_means(frames: UInt8Array, cells: int = 4) -> list[list[float]]:
    """Per frame, the mean RGB of each cell of a `cells` × `cells` grid (row-major, 3 values a
    cell, rounded to 3 decimals): where things are in the frame, not only its average colour, so
    a frame from the wrong step or a turned frame does not match."""
    result: list[list[float]] = []
    for frame in frames.astype(np.float64):
        values: list[float] = []
        for band in np.array_split(frame, cells, axis=0):
            for cell in np.array_split(band, cells, axis=1):
                values += [round(float(c), 3) for c in cell.reshape(-1, 3).mean(axis=0)]
        result.append(values)
    return result


# --------------------------------------------------------------------------- PNG


def encode_png(image: UInt8Array) -> bytes:
    """Minimal RGB8 PNG (filter 0 on every row); deterministic, no Pillow needed."""
    h, w, _ = image.shape
    rows = np.concatenate([np.zeros((h, 1), dtype=np.uint8), image.reshape(h, w * 3)], axis=1)

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + chunk(b"IEND", b"")
    )


# --------------------------------------------------------------------------- JPEG / ffmpeg


def run_ffmpeg(args: list[str], data: bytes) -> bytes:
    cmd = [FFMPEG, "-v", "error", "-nostdin", *args]
    result = subprocess.run(cmd, input=data, capture_output=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"ffmpeg failed: {result.stderr.decode(errors='replace')}")
    return result.stdout


def split_jpeg_stream(stream: bytes) -> list[bytes]:
    """Split concatenated JPEGs (an MJPEG stream) at SOI/EOI by walking the marker segments."""
    frames: list[bytes] = []
    pos = 0
    while pos < len(stream):
        if stream[pos : pos + 2] != b"\xff\xd8":
            raise SystemExit(f"MJPEG stream: no SOI at byte {pos}")
        start, p = pos, pos + 2
        while True:
            if stream[p] != 0xFF:
                raise SystemExit(f"MJPEG stream: bad marker at byte {p}")
            marker = stream[p + 1]
            if marker == 0xD9:  # EOI
                p += 2
                break
            (seg_len,) = struct.unpack_from(">H", stream, p + 2)
            p += 2 + seg_len
            if marker == 0xDA:  # SOS: entropy-coded data up to the next non-RST marker
                while not (
                    stream[p] == 0xFF
                    and stream[p + 1] != 0x00
                    and not (0xD0 <= stream[p + 1] <= 0xD7)
                ):
                    p += 1
        frames.append(stream[start:p])
        pos = p
    return frames


def encode_jpegs(frames: UInt8Array, pix_fmt: str = "rgb24") -> list[bytes]:
    """JPEG-encode N×H×W×3 frames in one ffmpeg call (an MJPEG stream split per frame).

    `pix_fmt` says how ffmpeg reads the frame bytes: `rgb24` makes a standard RGB JPEG; `bgr24`
    reproduces `cv2.imencode` handed an RGB array (OpenCV assumes BGR), so a standard decoder
    returns the channels reversed and only `cv2.imdecode` gives the stored array back.
    """
    if len(frames) == 0:
        return []
    n, h, w, _ = frames.shape
    stream = run_ffmpeg(
        [
            *("-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", f"{w}x{h}", "-r", "10", "-i", "-"),
            *("-c:v", "mjpeg", "-q:v", "2", "-pix_fmt", "yuvj420p", "-threads", "1"),
            *("-fflags", "+bitexact", "-flags:v", "+bitexact", "-f", "mjpeg", "-"),
        ],
        np.ascontiguousarray(frames).tobytes(),
    )
    jpegs = split_jpeg_stream(stream)
    if len(jpegs) != n:
        raise SystemExit(f"ffmpeg produced {len(jpegs)} JPEG frames for {n} inputs")
    return jpegs


def decode_jpegs(jpegs: list[bytes], height: int, width: int) -> UInt8Array:
    """Decode JPEGs with ffmpeg (standard YCbCr->RGB decoding) in one call."""
    if not jpegs:
        return np.zeros((0, height, width, 3), dtype=np.uint8)
    raw = run_ffmpeg(
        [
            *("-f", "mjpeg", "-i", "-", "-fps_mode", "passthrough"),
            *("-f", "rawvideo", "-pix_fmt", "rgb24", "-"),
        ],
        b"".join(jpegs),
    )
    frames = np.frombuffer(raw, dtype=np.uint8)
    if frames.size != len(jpegs) * height * width * 3:
        raise SystemExit(f"ffmpeg decoded {frames.size} bytes for {len(jpegs)} JPEG frames")
    return frames.reshape(len(jpegs), height, width, 3)


# --------------------------------------------------------------------------- CLI


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value
