"""The example generator writes a valid, deterministic `episodes` dataset."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "make_sample_dataset.py"


def generate(out: Path, *extra: str) -> None:
    subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--out",
            str(out),
            "--episodes",
            "4",
            "--steps",
            "12",
            *extra,
        ],
        check=True,
        capture_output=True,
    )


def digest(root: Path) -> str:
    hasher = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            hasher.update(str(path.relative_to(root)).encode())
            hasher.update(path.read_bytes())
    return hasher.hexdigest()


def test_episodes_follow_the_format(tmp_path: Path) -> None:
    generate(tmp_path / "d")
    episodes = sorted((tmp_path / "d").iterdir())
    assert [e.name for e in episodes] == [f"episode_{i:03d}" for i in range(4)]
    for episode in episodes:
        meta = json.loads((episode / "meta.json").read_text())
        assert meta["fps"] == 10
        assert meta["cameras"] == ["front", "wrist"]
        assert meta["instruction"].startswith("pick up the ")
        steps = [json.loads(line) for line in (episode / "steps.jsonl").read_text().splitlines()]
        assert len(steps) == 12
        actions = np.array([s["action"] for s in steps])
        assert actions.shape == (12, 7)
        assert set(actions[:, 6]) == {0.0, 1.0}
        assert np.allclose(np.diff([s["timestamp"] for s in steps]), 0.1)
        for step in steps:
            for camera, relative in step["images"].items():
                with Image.open(episode / relative) as image:
                    assert image.format == "JPEG"
                    assert image.size == (96, 96), camera


def test_generation_is_deterministic(tmp_path: Path) -> None:
    generate(tmp_path / "a", "--seed", "3")
    generate(tmp_path / "b", "--seed", "3")
    generate(tmp_path / "c", "--seed", "4")
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert digest(tmp_path / "a") != digest(tmp_path / "c")


def test_instruction_names_a_block_in_the_scene(tmp_path: Path) -> None:
    generate(tmp_path / "d", "--colours", "red,green,blue,yellow", "--blocks", "2")
    for episode in sorted((tmp_path / "d").iterdir()):
        colour = json.loads((episode / "meta.json").read_text())["instruction"].split()[-2]
        with Image.open(episode / "front" / "000000.jpg") as image:
            pixels = np.asarray(image.convert("RGB")).reshape(-1, 3).astype(int)
        target = {
            "red": (220, 40, 40),
            "green": (40, 180, 60),
            "blue": (40, 80, 220),
            "yellow": (230, 200, 40),
        }[colour]
        distance = np.abs(pixels - np.array(target)).sum(axis=1)
        assert (distance < 60).sum() > 20, f"{colour} block not visible in {episode.name}"
