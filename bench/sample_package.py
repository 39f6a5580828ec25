"""The trainer benchmarks' dataset: the example generator's episodes, prepared once into a
vlatune home under .build-bench/ and reused by later runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def prepared_sample(
    binary: str, work: Path, episodes: int = 60, steps: int = 30
) -> tuple[Path, str]:
    """(vlatune home, dataset id) of ``episodes`` × ``steps`` generated episodes in ``work``."""
    home = work / "home"
    marker = work / "id"
    if not marker.exists():
        shutil.rmtree(work, ignore_errors=True)
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "examples/make_sample_dataset.py"),
                "--out",
                str(work / "src"),
                "--episodes",
                str(episodes),
                "--steps",
                str(steps),
            ],
            check=True,
            capture_output=True,
        )
        result = subprocess.run(
            [binary, "dataset", "prepare", str(work / "src"), "--name", "t", "--quiet"],
            env=dict(os.environ, VLATUNE_HOME=str(home)),
            check=True,
            capture_output=True,
            text=True,
        )
        marker.write_text(result.stdout.strip())
    return home, marker.read_text().strip()
