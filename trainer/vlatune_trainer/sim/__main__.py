"""``python -m vlatune_trainer.sim demos|expert|envs`` (what ``vlatune sim`` runs).

demos   scripted-expert demonstrations in the ``episodes`` format (sim/demos.py)
expert  the scripted expert's success rate on the evaluation seeds (what ``job eval``
        measures a policy on), as JSON
envs    environments, tasks and cameras, as JSON
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

from . import ENVIRONMENTS, SimError, environment_class
from .demos import write_demos
from .rollout import episode_json, rollouts, summarise
from .seeds import evaluation_seeds


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", default="metaworld", help="simulator (default metaworld)")
    parser.add_argument("--task", required=True, help="task name; several separated by commas")
    parser.add_argument("--episodes", type=int, required=True)
    parser.add_argument("--image-size", type=int, default=96, help="square frames, pixels")
    parser.add_argument("--cameras", default="", help="camera names, comma-separated")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-steps", type=int, default=150, help="steps per episode at most")


def _environments(args: argparse.Namespace) -> list:
    cls = environment_class(args.env)
    if not 16 <= args.image_size <= 512:
        raise SimError(64, f"--image-size must be in [16, 512] pixels, got {args.image_size}")
    if not 1 <= args.max_steps <= 10_000:
        raise SimError(64, f"--max-steps must be in [1, 10000], got {args.max_steps}")
    cameras = tuple(c for c in args.cameras.split(",") if c) or cls.default_cameras
    tasks = [t for t in args.task.split(",") if t]
    if not tasks:
        raise SimError(64, "--task names no task")
    return [cls(task, args.image_size, cameras) for task in tasks]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vlatune sim", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demos = commands.add_parser("demos", help="write expert demonstrations")
    _common(demos)
    demos.add_argument("--out", type=Path, required=True)
    expert = commands.add_parser("expert", help="the expert on the evaluation seeds")
    _common(expert)
    commands.add_parser("envs", help="environments, tasks, cameras")
    args = parser.parse_args(argv)
    try:
        if args.command == "envs":
            listing = {
                name: {
                    "tasks": cls.tasks(),
                    "cameras": list(cls.cameras()),
                    "default_cameras": list(cls.default_cameras),
                    "action_dim": cls.action_dim,
                    "state_dim": cls.state_dim,
                }
                for name, cls in ENVIRONMENTS.items()
            }
            print(json.dumps(listing, indent=2))
            return 0
        with contextlib.redirect_stdout(sys.stderr):
            environments = _environments(args)
        if args.command == "demos":
            summary = write_demos(environments, args.out, args.episodes, args.seed, args.max_steps)
            report = {"out": str(args.out), **summary.to_json()}
            print(
                f"wrote {summary.written} successful episodes to {args.out}; dropped "
                f"{summary.dropped} the expert failed",
                file=sys.stderr,
            )
            print(json.dumps(report))
            return 0
        env = environments[0]
        started = time.monotonic()
        seeds = evaluation_seeds(args.seed, args.episodes)
        episodes = list(
            rollouts(env, lambda *_: env.expert_action()[None], seeds, args.max_steps, 1)
        )
        summary = summarise(episodes)
        print(
            json.dumps(
                {
                    "env": args.env,
                    "task": env.task,
                    "policy": "expert",
                    "seed": args.seed,
                    "seeds": [seeds[0], seeds[-1]],
                    **summary.metrics(),
                    "seconds": round(time.monotonic() - started, 2),
                    "episodes": [episode_json(e) for e in episodes],
                }
            )
        )
        return 0
    except SimError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return error.status


if __name__ == "__main__":
    sys.exit(main())
