"""The tiny-vla base is reproducible bit for bit from its seed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from vlatune_trainer.pretrain import pretrain


def test_pretraining_is_deterministic(make_package: Callable[..., Path], tmp_path: Path) -> None:
    package = make_package()
    first = pretrain(package, tmp_path / "a", steps=4, seed=0, batch_size=8, threads=2)
    second = pretrain(package, tmp_path / "b", steps=4, seed=0, batch_size=8, threads=2)
    other = pretrain(package, tmp_path / "c", steps=4, seed=1, batch_size=8, threads=2)
    assert first["sha256"] == second["sha256"]
    assert first["sha256"] != other["sha256"]
    assert (tmp_path / "a" / "config.json").read_text() == (
        tmp_path / "b" / "config.json"
    ).read_text()
