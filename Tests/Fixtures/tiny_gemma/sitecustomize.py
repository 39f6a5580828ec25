"""Installs the test-only tiny Gemma (``tiny_gemma.py``) in a Python process started with this
directory on ``PYTHONPATH`` and ``VLATUNE_TINY_GEMMA=1``: when LeRobot's pi0 or pi0.5 modeling
module is first imported, its construction points are shrunk. Nothing is imported before then,
and without the variable this file does nothing."""

from __future__ import annotations

import os

if os.environ.get("VLATUNE_TINY_GEMMA") == "1":
    import tiny_gemma

    tiny_gemma.install_on_import()
