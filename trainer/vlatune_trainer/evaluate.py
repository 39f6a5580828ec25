"""Closed-loop evaluation jobs (``vlatune job eval``; docs/eval.md).

The watcher starts the trainer command as for training; a spec with an ``evaluation`` section
comes here. The adapter is loaded with the statistics saved beside it (tiny-vla, the Hugging
Face path, the LeRobot kinds; ``base``: the model as its job started it), the simulator renders
the cameras the adapter was trained on, and each episode's result is reported as it ends:
``progress`` (episodes done of all), ``eval`` (the running success rate with its 95 % interval)
and ``output/evaluation.json`` (every episode, seeds, videos). SIGTERM ends it within one step
with the finished episodes kept.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from .errors import TrainerError
from .events import EventWriter
from .sim import Observation, SimError, environment_class
from .sim.demos import jpeg
from .sim.rollout import Episode, episode_json, rollouts, summarise
from .sim.seeds import EVALUATION_OFFSET, STRIDE, evaluation_seeds
from .spec import Evaluation, JobSpec


class _Stop:
    def __init__(self) -> None:
        self.requested = False
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "requested", True))


def load_actor(evaluation: Evaluation) -> tuple[Any, list[str], int]:
    """The policy, the cameras it reads (in its order) and the state length it expects."""
    from .predict import Policy, PredictError, describe_adapter, load_policy

    adapter = Path(evaluation.adapter)
    try:
        cameras, _, state_length = describe_adapter(adapter)
    except PredictError as error:
        raise TrainerError("config_error", error.message) from error
    with contextlib.redirect_stdout(sys.stderr):
        if evaluation.checkpoint == "base":
            described = json.loads((adapter / "model_config.json").read_text())
            if described.get("model_type") in ("lerobot", "hf"):
                raise TrainerError(
                    "config_error",
                    "adapter 'base' (the untrained start) is available for tiny-vla jobs only",
                )
            policy: Any = Policy(adapter, untrained=True)
        else:
            policy = load_policy(adapter)
        if evaluation.weights:
            if not isinstance(policy, Policy):
                raise TrainerError(
                    "config_error", "a checkpoint step is evaluated for tiny-vla jobs only"
                )
            from .checkpoint import load_weights

            load_weights(Path(evaluation.weights), policy.model)
    return policy, cameras, state_length or 0


def run(spec_path: Path) -> int:
    """Runs the evaluation the spec describes; the exit status of the trainer protocol."""
    raw = json.loads(spec_path.read_text())
    events = EventWriter(raw["events_path"])
    stop = _Stop()
    try:
        return _evaluate(JobSpec.from_json(raw), events, stop)
    except (TrainerError, SimError) as error:
        code = error.code if isinstance(error, TrainerError) else "config_error"
        events.emit("failed", code=code, message=error.message)
        print(f"error: {error.message}", flush=True)
        return 2


def _evaluate(spec: JobSpec, events: EventWriter, stop: _Stop) -> int:
    evaluation = spec.evaluation
    assert evaluation is not None
    started = time.monotonic()
    events.emit("started", total_steps=evaluation.episodes)
    events.emit("phase", phase="loading")
    policy, cameras, state_length = load_actor(evaluation)
    cls = environment_class(evaluation.env)
    with contextlib.redirect_stdout(sys.stderr):
        env = cls(evaluation.task, evaluation.image_size, tuple(dict.fromkeys(cameras)))
    if state_length not in (0, env.state_dim):
        raise TrainerError(
            "config_error",
            f"the adapter expects a state of {state_length} values but {evaluation.env} gives "
            f"{env.state_dim}; evaluate an adapter trained on demonstrations from this "
            "environment (vlatune sim demos)",
        )
    # As the policy was trained and is deployed: a LeRobot policy's own n_action_steps, else
    # the chunk vlatune trained (action_chunk).
    horizon = (
        evaluation.action_horizon
        or getattr(policy, "action_steps", 0)
        or spec.hyperparameters.action_chunk
    )

    def act(observation: Observation, instruction: str) -> np.ndarray:
        images = [jpeg(observation.images[camera]) for camera in cameras]
        return np.asarray(policy.predict(images, instruction, observation.state.tolist()))

    output = Path(spec.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    seeds = evaluation_seeds(evaluation.seed, evaluation.episodes)
    done: list[Episode] = []
    events.emit("phase", phase="evaluating")

    def write_results(final: bool) -> None:
        summary = summarise(done)
        elapsed = time.monotonic() - started
        document = {
            "schema_version": 1,
            "env": evaluation.env,
            "task": evaluation.task,
            "instruction": env.instruction,
            "policy": {
                "job": evaluation.source_job,
                "adapter": evaluation.adapter,
                "checkpoint": evaluation.checkpoint,
            },
            "seed": evaluation.seed,
            "seeds": {
                "first": seeds[0],
                "last": seeds[-1],
                "rule": f"{EVALUATION_OFFSET} + seed × {STRIDE} + episode (demonstrations: "
                f"seed × {STRIDE} + episode, a disjoint range)",
            },
            "episodes_requested": evaluation.episodes,
            "max_steps": evaluation.max_steps,
            "action_horizon": horizon,
            "cameras": list(dict.fromkeys(cameras)),
            "image_size": evaluation.image_size,
            "complete": final and len(done) == evaluation.episodes,
            **asdict(summary),
            "seconds": round(elapsed, 2),
            "episodes_per_second": round(len(done) / elapsed, 4) if elapsed > 0 else None,
            "results": [episode_json(e) for e in done],
            "videos": [e.video for e in done if e.video],
        }
        staged = output / "evaluation.json.partial"
        staged.write_text(json.dumps(document, indent=2) + "\n")
        staged.replace(output / "evaluation.json")

    for episode in rollouts(
        env,
        act,
        seeds,
        evaluation.max_steps,
        horizon,
        videos=evaluation.videos,
        video_dir=output / "videos",
        stop=lambda: stop.requested,
    ):
        done.append(episode)
        summary = summarise(done)
        events.emit("progress", step=len(done), total_steps=evaluation.episodes)
        events.emit("eval", step=len(done), **summary.metrics())
        print(
            f"episode {len(done)}/{evaluation.episodes} seed {episode.seed}: "
            f"{'success' if episode.success else 'failure'} in {episode.steps} steps; "
            f"success {summary.successes}/{len(done)} = {summary.success_rate:.2f} "
            f"[{summary.ci95_low:.2f}, {summary.ci95_high:.2f}]",
            flush=True,
        )
        write_results(final=False)
    env.close()
    write_results(final=True)
    if stop.requested:
        events.emit("cancelled", step=len(done))
        return 0
    events.emit("completed", step=len(done))
    return 0
