"""Appending protocol events (CONTRACT §7) to ``events.jsonl``."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any


class EventWriter:
    """One JSON object per line, flushed at once, so the watcher sees progress as it happens."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def emit(self, kind: str, **fields: Any) -> None:
        clean = {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in fields.items()
        }
        line = json.dumps({"type": kind, "time": round(time.time(), 3), **clean})
        with self.path.open("a") as handle:
            handle.write(line + "\n")
            handle.flush()
