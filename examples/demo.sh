#!/usr/bin/env bash
# The end-to-end demo (make demo): prepare a dataset of a task variation the tiny-vla base has
# never seen (new block colours), LoRA-fine-tune the pretrained base on CPU in the background,
# follow it live, and show where the adapter and statistics are and how well it does.
set -euo pipefail
cd "$(dirname "$0")/.."
VLATUNE=.build/debug/vlatune
PYTHON=.venv/bin/python
DATA=.build-demo/pick-held-out

echo "== 1. generate 60 episodes with unseen colours (purple, orange) and prepare them"
rm -rf "$DATA"
"$PYTHON" examples/make_sample_dataset.py --out "$DATA" --episodes 60 --steps 30 \
  --colours purple,orange,blue --seed 7
"$VLATUNE" dataset prepare "$DATA" --name pick-held-out --overwrite

echo "== 2. start a LoRA fine-tune of the pretrained tiny-vla base on CPU"
JOB=$("$VLATUNE" job start --base-model tiny-vla --dataset pick-held-out --gpus 0 \
  --max-steps 400 --batch-size 32 --lora-rank 16 --learning-rate 2e-3 \
  --checkpoint-interval 100 --seed 0 --name demo --quiet)
echo "job $JOB started (it runs in the background; Ctrl-C here does not stop it)"

echo "== 3. follow it"
"$VLATUNE" job status "$JOB" --watch
set +e
"$VLATUNE" job wait "$JOB" >/dev/null
status=$?
set -e
if [ "$status" != 0 ]; then
  "$VLATUNE" job logs "$JOB" --tail 20
  exit "$status"
fi

echo "== 4. result"
OUTPUT=$("$VLATUNE" job status "$JOB" --json | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["output"]["dir"])')
"$PYTHON" - "$OUTPUT" <<'PY'
import json, sys
from pathlib import Path
output = Path(sys.argv[1])
metrics = json.loads((output / "metrics.json").read_text())
val, shuffled = metrics["val"], metrics["val_shuffled_instructions"]
names = ["dx", "dy", "dz", "droll", "dpitch", "dyaw", "gripper"]
print(f"adapter            {output / 'adapter'}  (PEFT: adapter_config.json, adapter_model.safetensors)")
print(f"statistics         {output / 'dataset_statistics.json'}  (unnorm_key pick-held-out)")
print("val action L1 (un-normalized units) per dimension:")
print("  dim       model   mean-action baseline   instructions shuffled")
for i, name in enumerate(names):
    print(f"  {name:<8} {val['l1_per_dim'][i]:7.4f}   {val['baseline_per_dim'][i]:7.4f}"
          f"                {shuffled['l1_per_dim'][i]:7.4f}")
xy = sum(val["l1_per_dim"][:2]) / 2
print(f"planar motion (dx, dy): {xy:.4f} vs baseline {sum(val['baseline_per_dim'][:2]) / 2:.4f}; "
      f"with the instructions shuffled {sum(shuffled['l1_per_dim'][:2]) / 2:.4f}")
PY
