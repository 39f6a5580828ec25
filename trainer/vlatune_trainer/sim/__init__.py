"""Simulated environments for demonstrations and closed-loop evaluation (docs/eval.md).

An environment is a class with the interface of :class:`~.base.Environment`; ``ENVIRONMENTS``
maps the names ``vlatune sim`` and ``job eval --env`` take to them. Meta-World is the one built
in; docs/eval.md says how to add another.
"""

from __future__ import annotations

from .base import Environment, Observation, SimError
from .meta_world import MetaWorld

ENVIRONMENTS: dict[str, type[Environment]] = {"metaworld": MetaWorld}


def environment_class(name: str) -> type[Environment]:
    """The environment class of a name; a ``SimError`` (exit 64) listing what exists."""
    try:
        return ENVIRONMENTS[name]
    except KeyError:
        raise SimError(
            64, f"unknown env {name!r}; environments: {', '.join(sorted(ENVIRONMENTS))}"
        ) from None


__all__ = ["ENVIRONMENTS", "Environment", "Observation", "SimError", "environment_class"]
