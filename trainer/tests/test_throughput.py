"""StepClock: steps after the first, over their time, evaluation and checkpoints left out."""

from __future__ import annotations

import pytest
import torch
from vlatune_trainer import throughput
from vlatune_trainer.throughput import StepClock


class FakeTime:
    """perf_counter stand-in: the test decides how long each piece of work takes."""

    def __init__(self) -> None:
        self.now = 100.0

    def perf_counter(self) -> float:
        return self.now


@pytest.fixture
def clock_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(throughput.time, "perf_counter", fake.perf_counter)
    return fake


def test_rate_leaves_out_the_first_step_and_paused_work(clock_time: FakeTime) -> None:
    clock = StepClock(torch.device("cpu"))
    assert clock.steps_per_second() is None
    clock_time.now += 30  # the first step: warm-up, not counted
    clock.step_done()
    assert clock.steps_per_second() is None
    for _ in range(4):
        clock_time.now += 0.5
        clock.step_done()
    with clock.paused():
        clock_time.now += 60  # an evaluation
    clock_time.now += 0.5
    clock.step_done()
    assert clock.steps_per_second() == pytest.approx(5 / 2.5)


def test_work_paused_before_the_clock_starts_is_not_subtracted(clock_time: FakeTime) -> None:
    clock = StepClock(torch.device("cpu"))
    with clock.paused():
        clock_time.now += 10
    clock.step_done()
    clock_time.now += 2
    clock.step_done()
    assert clock.steps_per_second() == pytest.approx(0.5)


def test_a_paused_block_that_raises_still_counts_as_paused(clock_time: FakeTime) -> None:
    clock = StepClock(torch.device("cpu"))
    clock.step_done()
    with pytest.raises(RuntimeError), clock.paused():
        clock_time.now += 7
        raise RuntimeError("checkpoint failed")
    clock_time.now += 1
    clock.step_done()
    assert clock.steps_per_second() == pytest.approx(1.0)
