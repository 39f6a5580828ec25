"""The simulator package: the Meta-World set-up (the scripted expert succeeds, so the
environment is rendered and stepped right), seeds, intervals, demonstrations that ``dataset
prepare`` takes, refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import vlatune_binary
from vlatune_trainer.sim import MetaWorld, SimError, environment_class
from vlatune_trainer.sim.demos import write_demos
from vlatune_trainer.sim.rollout import Episode, summarise, wilson_interval
from vlatune_trainer.sim.seeds import (
    EVALUATION_OFFSET,
    MAX_SEED,
    STRIDE,
    demonstration_seeds,
    evaluation_seeds,
)

TASK = "button-press-topdown-v3"


def sim(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vlatune_trainer.sim", *arguments],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_scripted_expert_succeeds_on_the_demo_task() -> None:
    """A check of the environment set-up (rendering, variations, success signal), not of a
    model: Meta-World's expert solves the demo task from the evaluation seeds."""
    done = sim("expert", "--task", TASK, "--episodes", "10", "--image-size", "64",
               "--cameras", "topview")  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["success_rate"] >= 0.9, result
    assert result["episodes_done"] == 10
    assert [e["seed"] for e in result["episodes"]] == evaluation_seeds(0, 10)
    assert result["ci95_low"] <= result["success_rate"] <= result["ci95_high"]


def test_frames_are_upright_and_the_state_is_proprioceptive() -> None:
    env = MetaWorld(TASK, 64, ("corner2", "topview"))
    try:
        first = env.reset(7)
        assert set(first.images) == {"corner2", "topview"}
        assert all(image.shape == (64, 64, 3) for image in first.images.values())
        assert first.state.shape == (4,)
        # The same seed, the same variation; another seed, another.
        again = env.reset(7)
        assert (again.images["topview"] == first.images["topview"]).all()
        assert not (env.variation(8) == env.variation(7)).all()
        # corner2 comes out of MuJoCo upside down: once turned, the table (brown, in the lower
        # part of the view) is below the sky-grey floor line, so the bottom rows are darker.
        corner = first.images["corner2"].astype(float)
        assert corner[-16:].mean() < corner[:16].mean()
    finally:
        env.close()


def test_closing_one_environment_leaves_the_others_rendering() -> None:
    """MuJoCo's offscreen renderers share one GL context: a closed environment must not turn
    the others' frames black (the demonstrations of a multi-task set would be garbage)."""
    first = MetaWorld(TASK, 32, ("topview",))
    second = MetaWorld(TASK, 32, ("topview",))
    second.reset(0)
    second.close()
    second.close()  # twice is harmless
    assert first.reset(0).images["topview"].std() > 10
    first.close()


def test_demonstration_and_evaluation_seeds_never_meet() -> None:
    demos = demonstration_seeds(MAX_SEED - 1, STRIDE)
    assert max(demos) < EVALUATION_OFFSET
    assert min(evaluation_seeds(0, 1)) == EVALUATION_OFFSET
    assert not set(demonstration_seeds(3, 500)) & set(evaluation_seeds(3, 500))
    with pytest.raises(SimError):
        evaluation_seeds(MAX_SEED, 1)


def test_wilson_interval() -> None:
    assert wilson_interval(0, 10) == (0.0, pytest.approx(0.277533, abs=1e-6))
    assert wilson_interval(10, 10) == (pytest.approx(0.722467, abs=1e-6), 1.0)
    # 7 of 20: the textbook Wilson interval [0.181, 0.567] (the normal one would be [0.14, 0.56]).
    low, high = wilson_interval(7, 20)
    assert low == pytest.approx(0.1812, abs=1e-4) and high == pytest.approx(0.5672, abs=1e-4)
    episodes = [Episode(i, i, i % 2 == 0, 10 + i, 0.1) for i in range(4)]
    summary = summarise(episodes)
    assert summary.successes == 2 and summary.success_rate == 0.5
    assert summary.mean_episode_length == 11.5 and summary.mean_success_length == 11.0


def test_demonstrations_are_an_episodes_dataset(tmp_path: Path) -> None:
    env = MetaWorld(TASK, 64, ("topview",))
    out = tmp_path / "demos"
    try:
        summary = write_demos([env], out, episodes=3, seed=2, max_steps=150, progress=False)
    finally:
        env.close()
    assert summary.written == 3 and summary.dropped == 0
    episodes = sorted(out.iterdir())
    meta = json.loads((episodes[0] / "meta.json").read_text())
    assert meta["instruction"] == "press the button from the top"
    assert meta["cameras"] == ["topview"]
    assert meta["source"] == {"env": "metaworld", "task": TASK, "seed": 200000}
    steps = [json.loads(line) for line in (episodes[0] / "steps.jsonl").read_text().splitlines()]
    assert all(len(s["action"]) == 4 and len(s["state"]) == 4 for s in steps)
    assert (episodes[0] / steps[-1]["images"]["topview"]).read_bytes()[:2] == b"\xff\xd8"
    if not vlatune_binary().exists():
        pytest.skip("the vlatune binary is not built (run make build)")
    home = tmp_path / "home"
    prepared = subprocess.run(
        [str(vlatune_binary()), "dataset", "prepare", str(out), "--name", "sim", "--json"],
        capture_output=True, text=True, env={"VLATUNE_HOME": str(home), "PATH": "/usr/bin:/bin"},
        check=False, timeout=300,
    )  # fmt: skip
    assert prepared.returncode == 0, prepared.stderr
    document = json.loads(prepared.stdout)
    assert document["episodes"] == 3
    assert not [w for w in document["warnings"] if "source" in json.dumps(w)], document["warnings"]


def test_failed_episodes_are_dropped_and_counted(tmp_path: Path) -> None:
    env = MetaWorld(TASK, 32, ("topview",))
    try:
        summary = write_demos([env], tmp_path / "demos", episodes=2, seed=0, max_steps=3,
                              progress=False)  # fmt: skip
    finally:
        env.close()
    assert (summary.written, summary.dropped) == (0, 2)
    assert summary.to_json()["expert_success_rate"] == 0.0
    assert list((tmp_path / "demos").iterdir()) == []


def test_unknown_environment_task_and_camera_are_refused_with_the_choices(tmp_path: Path) -> None:
    with pytest.raises(SimError) as unknown_env:
        environment_class("gym")
    assert unknown_env.value.status == 64 and "metaworld" in unknown_env.value.message
    task = sim("demos", "--task", "press-everything", "--episodes", "1", "--out",
               str(tmp_path / "x"))  # fmt: skip
    assert task.returncode == 64
    assert "unknown metaworld task 'press-everything'" in task.stderr and TASK in task.stderr
    camera = sim("expert", "--task", TASK, "--episodes", "1", "--cameras", "ceiling")
    assert camera.returncode == 64 and "cameras: corner, corner2" in camera.stderr
    assert "Traceback" not in task.stderr + camera.stderr
    existing = tmp_path / "there"
    existing.mkdir()
    again = sim("demos", "--task", TASK, "--episodes", "1", "--out", str(existing))
    assert again.returncode == 64 and "exists" in again.stderr
