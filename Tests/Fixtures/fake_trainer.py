"""A stand-in trainer for vlatune's tests: speaks the trainer protocol (CONTRACT §7) without a GPU.

It reads the spec, appends `started`, `progress`, `checkpoint` and `completed` events, sleeps
between steps (standing in for GPU work), and on SIGTERM finishes the current step, writes a
checkpoint atomically, appends `cancelled` and exits. `--mode` makes it misbehave on request.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

MODES = ["ok", "fail", "crash", "ignore-term", "garbage", "oom", "no-complete", "hang"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spec", required=True)
    parser.add_argument("--mode", choices=MODES, default="ok")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--step-seconds", type=float, default=0.02)
    parser.add_argument("--checkpoint-every", type=int, default=5)
    parser.add_argument(
        "--evals", action="store_true", help="an eval at every checkpoint (val_l1 lowest at 10)"
    )
    args = parser.parse_args()

    spec = json.loads(Path(args.spec).read_text())
    events = Path(spec["events_path"])
    job_dir = Path(spec["job_dir"])
    total = args.steps or spec["hyperparameters"]["max_steps"]
    # Written whole, then renamed: a test waiting for the file never reads it half-written.
    partial = job_dir / "trainer-env.json.tmp"
    partial.write_text(json.dumps(dict(os.environ)))
    partial.rename(job_dir / "trainer-env.json")

    def emit(kind: str, **fields: Any) -> None:
        with events.open("a") as handle:
            handle.write(json.dumps({"type": kind, "time": time.time(), **fields}) + "\n")

    def checkpoint(step: int) -> None:
        final = Path(spec["checkpoints_dir"]) / f"step-{step:07d}"
        temporary = final.with_name(final.name + ".tmp")
        temporary.mkdir(parents=True, exist_ok=True)
        (temporary / "state.json").write_text(json.dumps({"step": step}))
        (temporary / "trainer_state.json").write_text(json.dumps({"step": step}))
        (temporary / "adapter.safetensors").write_bytes(b"")
        if final.exists():  # a resumed attempt passes the step again, as the real trainer does
            shutil.rmtree(final)
        temporary.rename(final)
        emit("checkpoint", step=step, path=str(final))

    stop = {"requested": False}
    if args.mode == "ignore-term":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__("requested", True))

    print(f"fake trainer pid {os.getpid()} mode {args.mode}", flush=True)
    print("fake trainer stderr line", file=sys.stderr, flush=True)
    # `job resume`: continue from the chosen checkpoint's step, as the real trainer does.
    step = int((spec.get("resume") or {}).get("step", 0))
    if spec.get("resume"):
        print(f"resumed from {spec['resume']['checkpoint']} at step {step}", flush=True)
    emit("started", total_steps=total, resumed_from=step)
    while step < total or args.mode == "hang" or args.mode == "ignore-term":
        time.sleep(args.step_seconds)
        step += 1
        emit(
            "progress",
            step=step,
            total_steps=total,
            loss=1.0 / step,
            learning_rate=5e-4,
            grad_norm=0.5,
            samples_per_second=100.0,
        )
        print(f"step {step}", flush=True)
        if args.mode == "garbage" and step == 1:
            with events.open("a") as handle:
                handle.write("this is not json\n")
                handle.write(json.dumps({"no_type": True}) + "\n")
                handle.write("{" + "x" * 100_000 + "}\n")
                handle.write(json.dumps({"type": "progress", "step": "nope"}) + "\n")
        if args.mode == "fail" and step == 2:
            print("boom: the trainer hit a bad batch", file=sys.stderr, flush=True)
            return 3
        if args.mode == "oom" and step == 2:
            emit("failed", code="oom", message="CUDA out of memory (simulated)")
            return 1
        if args.mode == "crash" and step == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        if step % args.checkpoint_every == 0 or (step == total and args.mode != "hang"):
            checkpoint(step)
            if args.evals:
                emit("eval", step=step, val_loss=0.5, val_l1=0.05 + abs(step - 10) / 100)
        if stop["requested"]:
            checkpoint(step)
            emit("cancelled", step=step)
            return 0
    if args.mode == "no-complete":
        return 0
    adapter = Path(spec["output_dir"]) / "adapter"
    adapter.mkdir(parents=True, exist_ok=True)
    (adapter / "adapter_config.json").write_text(
        json.dumps({"r": spec["hyperparameters"]["lora_rank"]})
    )
    emit("eval", step=step, val_loss=0.5, val_l1=0.1)
    emit("completed", step=step)
    return 0


if __name__ == "__main__":
    sys.exit(main())
