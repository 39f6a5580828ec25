"""The shard reader streams WebDataset samples and refuses damaged packages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from vlatune_trainer.errors import TrainerError
from vlatune_trainer.package import Package, read_shard


def test_reads_every_sample_with_its_images(make_package: Callable[..., Path]) -> None:
    package = Package(make_package())
    package.verify()
    seen = 0
    for split in ("train", "val"):
        for shard in package.shards(split):
            for sample in read_shard(shard):
                assert set(sample.images) == {"front", "wrist"}
                assert sample.images["front"][:2] == b"\xff\xd8"
                assert sample.meta["split"] == split
                seen += 1
    assert seen == package.manifest["steps"]
    assert package.actions.shape == (package.manifest["steps"], 7)


def test_checksum_mismatch_is_a_data_error(
    make_package: Callable[..., Path], tmp_path: Path
) -> None:
    import shutil

    copy = tmp_path / "package"
    shutil.copytree(make_package(), copy)
    shard = next((copy / "shards").glob("train-*.tar"))
    data = bytearray(shard.read_bytes())
    data[1000] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(TrainerError) as caught:
        Package(copy).verify()
    assert caught.value.code == "data_error"
    assert "checksum" in caught.value.message
