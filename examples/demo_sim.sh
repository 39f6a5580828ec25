#!/usr/bin/env bash
# The closed-loop demo (make demo-sim): scripted-expert demonstrations from the Meta-World
# simulator, prepared as any dataset, a LoRA fine-tune of the pretrained tiny-vla base on CPU,
# then closed-loop evaluation jobs of the fine-tuned adapter and of the untrained start on the
# same 20 seeded task variations (none of them a demonstration's), beside the scripted expert.
# About 8 minutes on 2 cores. docs/eval.md.
set -euo pipefail
cd "$(dirname "$0")/.."
VLATUNE=.build/debug/vlatune
PYTHON=.venv/bin/python
TASK=${TASK:-button-press-topdown-v3}
EPISODES=${EPISODES:-20}
DEMOS=.build-demo/sim-demos
SIM=(--task "$TASK" --image-size 64 --cameras topview)

echo "== 1. 40 scripted-expert demonstrations of $TASK (successful episodes only)"
rm -rf "$DEMOS" "$DEMOS.partial" && mkdir -p .build-demo
"$VLATUNE" sim demos "${SIM[@]}" --episodes 40 --seed 0 --out "$DEMOS" > .build-demo/demos.json
"$VLATUNE" dataset prepare "$DEMOS" --name sim-demos --overwrite --quiet >/dev/null

echo "== 2. LoRA fine-tune of the pretrained tiny-vla base on CPU"
JOB=$("$VLATUNE" job start --base-model tiny-vla --dataset sim-demos --gpus 0 --max-steps 600 \
  --batch-size 32 --lora-rank 16 --learning-rate 2e-3 --checkpoint-interval 200 --seed 0 \
  --name sim-demo --quiet)
"$VLATUNE" job status "$JOB" --watch
"$VLATUNE" job wait "$JOB" >/dev/null || { "$VLATUNE" job logs "$JOB" --tail 20; exit 1; }

echo "== 3. closed-loop evaluation jobs: the fine-tuned adapter, then the untrained start"
EVAL_TUNED=$("$VLATUNE" job eval "$JOB" --task "$TASK" --episodes "$EPISODES" --seed 0 --videos 2 \
  --quiet)
"$VLATUNE" job status "$EVAL_TUNED" --watch
EVAL_BASE=$("$VLATUNE" job eval "$JOB" --adapter base --task "$TASK" --episodes "$EPISODES" \
  --seed 0 --videos 1 --quiet)
"$VLATUNE" job status "$EVAL_BASE" --watch
"$VLATUNE" sim expert "${SIM[@]}" --episodes "$EPISODES" --seed 0 > .build-demo/expert.json

echo "== 4. result ($TASK, $EPISODES episodes, evaluation seed 0)"
"$VLATUNE" job status "$EVAL_TUNED" --json > .build-demo/tuned.json
"$VLATUNE" job status "$EVAL_BASE" --json > .build-demo/base.json
"$PYTHON" - <<'PY'
import json
from pathlib import Path

demo = Path(".build-demo")
rows = []
for label, name in (("fine-tuned (LoRA)", "tuned"), ("untrained start", "base")):
    job = json.loads((demo / f"{name}.json").read_text())
    evaluation = job["evaluation"]
    assert job["state"] == "succeeded", f"{label}: evaluation job {job['id']} {job['state']}"
    rows.append((label, evaluation["success_rate"], *evaluation["ci95"],
                 evaluation["mean_episode_length"], job["id"]))
expert = json.loads((demo / "expert.json").read_text())
rows.append(("scripted expert", expert["success_rate"], expert["ci95_low"], expert["ci95_high"],
             expert["mean_episode_length"], "vlatune sim expert"))
print(f"{'policy':<20} {'success':>8}  {'95 % interval':<15} {'mean length':>11}  job")
for label, rate, low, high, length, job in rows:
    print(f"{label:<20} {rate:>8.2f}  [{low:.2f}, {high:.2f}]    {length:>11.1f}  {job}")
tuned = json.loads((demo / "tuned.json").read_text())["evaluation"]
demos = json.loads((demo / "demos.json").read_text())
print(f"demonstrations: {demos['episodes_written']} kept, {demos['episodes_dropped']} dropped, "
      f"{demos['episodes_per_second']:.2f} episodes/s")
print(f"seeds {expert['seeds'][0]}..{expert['seeds'][1]} (demonstrations used 0..39); "
      f"videos: {', '.join(tuned['videos'])}")
PY
