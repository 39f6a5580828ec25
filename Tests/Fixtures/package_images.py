"""Print the cell means of every image in a prepared vlatune package, decoded with Pillow.

    python package_images.py PACKAGE_DIR

PACKAGE_DIR is a prepared package (`$VLATUNE_HOME/datasets/<id>/`, docs/dataset-format.md): its
`shards/*.tar` (every split) are POSIX tar files in WebDataset layout, one sample per step with the
key `e<episode:06>_s<step:06>` (PackageWriter.swift), the images stored as `<key>.<camera>.jpg` or
`<key>.<camera>.png`; `episodes.jsonl` has one line per episode whose `index` is the `<episode>`
number of the keys and whose `name` is the source episode's name.

Prints one JSON object:

    {"episodes": {"<index>": {"<camera>": [[48 values], ...one per step, in step order]}},
     "names": {"<index>": "<name>"}}

Each image's values are `fixture_media.frame_cell_means`: the mean RGB of each cell of a 4 × 4
grid over the image as Pillow decodes it (converted to RGB), row-major, rounded to 3 decimals —
the same measure the generators' `image_cell_means` expectations use. Every episode of
`episodes.jsonl` is listed (`{}` without cameras); a camera with images missing for some steps,
an image of an unknown episode, or a duplicate image is an error (exit 1).
"""

from __future__ import annotations

import io
import json
import re
import sys
import tarfile
from pathlib import Path

import numpy as np
from fixture_media import frame_cell_means
from PIL import Image

IMAGE_MEMBER = re.compile(r"^e(\d+)_s(\d+)\.(.+)\.(jpg|png)$")


def cell_means(data: bytes) -> list[float]:
    with Image.open(io.BytesIO(data)) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return frame_cell_means(pixels[None])[0]


def read_package(root: Path) -> dict[str, dict[str, object]]:
    rows = [json.loads(line) for line in (root / "episodes.jsonl").read_text().splitlines() if line]
    steps = {int(row["index"]): int(row["steps"]) for row in rows}
    names = {int(row["index"]): str(row["name"]) for row in rows}
    found: dict[int, dict[str, dict[int, list[float]]]] = {index: {} for index in steps}
    shards = sorted((root / "shards").glob("*.tar"))
    if not shards:
        raise SystemExit(f"{root}/shards: no .tar shards")
    for shard in shards:
        with tarfile.open(shard) as tar:
            for member in tar:
                match = IMAGE_MEMBER.match(Path(member.name).name)
                if not member.isfile() or match is None:
                    continue
                episode, step, camera = int(match[1]), int(match[2]), match[3]
                if episode not in found:
                    raise SystemExit(f"{shard.name}:{member.name}: episode {episode} not listed")
                per_step = found[episode].setdefault(camera, {})
                if step in per_step:
                    raise SystemExit(f"{shard.name}:{member.name}: a second image for this step")
                blob = tar.extractfile(member)
                if blob is None:
                    raise SystemExit(f"{shard.name}:{member.name}: unreadable")
                per_step[step] = cell_means(blob.read())
    episodes: dict[str, object] = {}
    for index in sorted(found):
        cameras: dict[str, list[list[float]]] = {}
        for camera in sorted(found[index]):
            per_step = found[index][camera]
            if sorted(per_step) != list(range(steps[index])):
                raise SystemExit(
                    f"episode {index} camera {camera}: images for {len(per_step)} of "
                    f"{steps[index]} steps"
                )
            cameras[camera] = [per_step[s] for s in range(steps[index])]
        episodes[str(index)] = cameras
    return {"episodes": episodes, "names": {str(i): names[i] for i in sorted(names)}}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: package_images.py PACKAGE_DIR", file=sys.stderr)
        return 2
    print(json.dumps(read_package(Path(argv[0]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
