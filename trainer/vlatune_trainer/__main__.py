"""``python -m vlatune_trainer --spec spec.json [--resume]``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

# Base models are local directories: nothing may reach the Hugging Face Hub from deep inside a
# library (a LeRobot processor naming a hub tokenizer fails with a clear error instead). Set
# before the imports below, which read it once.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from .train import run


def main() -> int:
    parser = argparse.ArgumentParser(prog="vlatune_trainer", description=__doc__)
    parser.add_argument("--spec", required=True, type=Path, help="the job's spec.json")
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint")
    args = parser.parse_args()
    if _is_evaluation(args.spec):
        from .evaluate import run as evaluate

        return evaluate(args.spec)
    return run(args.spec, resume=args.resume)


def _is_evaluation(path: Path) -> bool:
    """Whether the spec is an evaluation job's (``vlatune job eval``)."""
    try:
        return "evaluation" in json.loads(path.read_text())
    except (OSError, ValueError):
        return False  # the training path reports an unreadable spec


if __name__ == "__main__":
    sys.exit(main())
