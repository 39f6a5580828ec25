"""``vlatune_trainer.predict``'s request checks against an adapter directory, without a model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from vlatune_trainer.predict import PredictError, read_request


def adapter(tmp_path: Path, cameras: list[str], kind: str = "tiny-vla") -> Path:
    directory = tmp_path / "output" / "adapter"
    directory.mkdir(parents=True)
    (directory / "model_config.json").write_text(json.dumps({"model_type": kind}))
    statistics = {"set": {"action": {"mean": [0.0]}, "proprio": {"mean": [0.0, 0.0]}}}
    (directory / "dataset_statistics.json").write_text(json.dumps(statistics))
    (tmp_path / "output" / "train_config.json").write_text(json.dumps({"cameras": cameras}))
    return directory


def image(tmp_path: Path, name: str, shade: int) -> str:
    path = tmp_path / f"{name}.png"
    Image.fromarray(np.full((8, 8, 3), shade, dtype=np.uint8)).save(path)
    return str(path)


def test_images_follow_the_adapters_camera_order_by_name(tmp_path: Path) -> None:
    directory = adapter(tmp_path, ["front", "wrist"])
    front, wrist = image(tmp_path, "f", 10), image(tmp_path, "w", 200)
    images, state = read_request(directory, [f"wrist={wrist}", f"front={front}"], "1,2")
    assert images == [Path(front).read_bytes(), Path(wrist).read_bytes()]
    assert state == [1.0, 2.0]


def test_a_camera_that_fills_two_slots_is_given_once(tmp_path: Path) -> None:
    directory = adapter(tmp_path, ["front", "front"])
    front = image(tmp_path, "f", 10)
    images, _ = read_request(directory, [f"front={front}"], "0,0")
    assert images == [Path(front).read_bytes()] * 2


@pytest.mark.parametrize(
    ("arguments", "state", "status", "text"),
    [
        (["wrist=W", "frnt=F"], "1,2", 64, "unknown camera 'frnt'"),
        (["front=F"], "1,2", 64, "missing --image wrist=PATH"),
        (["front=F", "front=F", "wrist=W"], "1,2", 64, "given twice"),
        (["front", "wrist=W"], "1,2", 64, "CAMERA=PATH"),
        (["front=F", "wrist=W"], "1", 64, "--state needs 2"),
        (["front=F", "wrist=W"], "a,b", 64, "comma-separated numbers"),
        (["front=/nonexistent.png", "wrist=W"], "1,2", 66, "no such file"),
        (["front=NOTIMAGE", "wrist=W"], "1,2", 65, "not a readable image"),
    ],
)
def test_bad_requests_say_what_is_wrong(
    tmp_path: Path, arguments: list[str], state: str, status: int, text: str
) -> None:
    directory = adapter(tmp_path, ["front", "wrist"])
    (tmp_path / "notimage.txt").write_text("not an image")
    paths = {
        "F": image(tmp_path, "f", 10),
        "W": image(tmp_path, "w", 200),
        "NOTIMAGE": str(tmp_path / "notimage.txt"),
    }
    resolved = []
    for item in arguments:
        name, _, path = item.partition("=")
        resolved.append(f"{name}={paths.get(path, path)}" if path else item)
    with pytest.raises(PredictError) as raised:
        read_request(directory, resolved, state)
    assert raised.value.status == status and text in raised.value.message


def test_a_directory_that_is_not_an_adapter_is_66(tmp_path: Path) -> None:
    with pytest.raises(PredictError) as raised:
        read_request(tmp_path, [], "")
    assert raised.value.status == 66
    assert "is not a vlatune adapter directory" in raised.value.message
