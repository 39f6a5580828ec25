"""Rollout videos: raw RGB frames piped to FFmpeg (H.264, yuv420p, playable everywhere)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np


def write_video(frames: list[np.ndarray], path: Path, fps: int) -> bool:
    """Writes ``frames`` (H × W × 3 uint8) to ``path``; ``False`` when FFmpeg is missing or
    fails (a video is a convenience: the evaluation's numbers do not depend on it)."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None or not frames:
        return False
    height, width = frames[0].shape[:2]
    # yuv420p needs even sizes.
    even = [f[: height - height % 2, : width - width % 2] for f in frames]
    command = [
        ffmpeg, "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
        "-s", f"{even[0].shape[1]}x{even[0].shape[0]}", "-r", str(fps), "-i", "-",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path),
    ]  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"".join(np.ascontiguousarray(f).tobytes() for f in even)
    done = subprocess.run(command, input=data, capture_output=True, check=False)
    return done.returncode == 0 and path.is_file()
