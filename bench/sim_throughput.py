"""Simulator throughput (part of ``make bench``): Meta-World step + render at the evaluation's
settings against MuJoCo's stock rendering (4096 shadow map, multisampling) in the same process,
and scripted-expert demonstrations and rollouts per second.

    python bench/sim_throughput.py [--task button-press-topdown-v3] [--size 96] [--steps 200]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from vlatune_trainer.sim import MetaWorld
from vlatune_trainer.sim.demos import write_demos
from vlatune_trainer.sim.rollout import rollouts
from vlatune_trainer.sim.seeds import evaluation_seeds


def steps_per_second(env: MetaWorld, steps: int) -> float:
    env.reset(0)
    started = time.perf_counter()
    for _ in range(steps):
        env.step(np.zeros(4, dtype=np.float32))
    return steps / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="button-press-topdown-v3")
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--episodes", type=int, default=10)
    args = parser.parse_args()

    # One simulator at a time: closing one releases the process's offscreen GL context.
    tuned = MetaWorld(args.task, args.size, ("corner2",))
    fast = steps_per_second(tuned, args.steps)
    with tempfile.TemporaryDirectory() as directory:
        demos = write_demos(
            [tuned], Path(directory) / "demos", args.episodes, seed=0, max_steps=150, progress=False
        )
    started = time.perf_counter()
    episodes = list(
        rollouts(
            tuned,
            lambda *_: tuned.expert_action()[None],
            evaluation_seeds(0, args.episodes),
            150,
            1,
        )
    )
    rollout_seconds = time.perf_counter() - started
    tuned.close()
    stock = MetaWorld(args.task, args.size, ("corner2",))
    # The baseline: the scene's own quality settings, which MetaWorld turns off.
    stock._env.model.vis.quality.offsamples = 4
    stock._env.model.vis.quality.shadowsize = 4096
    slow = steps_per_second(stock, max(args.steps // 4, 20))
    stock.close()
    print(
        json.dumps(
            {
                "task": args.task,
                "image_size": args.size,
                "steps_per_second": round(fast, 1),
                "stock_steps_per_second": round(slow, 1),
                "ratio_vs_stock": round(fast / slow, 2),
                "demo_episodes_per_second": round(demos.written / demos.seconds, 3),
                "demo_steps": demos.steps,
                "expert_rollout_episodes_per_second": round(len(episodes) / rollout_seconds, 3),
                "expert_success_rate": sum(e.success for e in episodes) / len(episodes),
            }
        )
    )


if __name__ == "__main__":
    main()
