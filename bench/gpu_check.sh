#!/usr/bin/env bash
# The GPU check (issue 20): one script, meant to finish in under 8 minutes on one GPU, that prints one table:
#   1. the EAC / CE step cost of the paper preset's pieces (ResNet-18 and ResNet-50, 112 and 224 px, bf16)
#      with images per second (bench/bench_step_cost.py --device cuda);
#   2. the per-sample logging cost on the GPU (bench/bench_logging_cost.py --device cuda, 2 ABBA rounds);
#   3. a 2-epoch fine-tune on fer2013_dev: a 1-epoch ResNet-18 at 112 px trained from scratch (paper preset),
#      then `--pretrained <that run>` for 2 epochs with --preset auto (so the finetune recipe on CUDA), with
#      its test accuracy, images per second and wall time;
#   4. a 1-GPU torchrun (NCCL) smoke: one epoch of the demo through `torchrun --standalone --nproc_per_node 1`.
#
# Usage, where a GPU is lent (the device tool; fer2013_dev is 128 MB, over what travels, so pack a subset):
#   here:   bash bench/gpu_check.sh --pack .gpu_data 8000     # 8,000 training faces + the test split
#           (plus wheels of cleanlab, umap-learn, pynndescent in .whl: the device README says how)
#   there:  bash bench/gpu_check.sh .gpu_data                 # carry: [".gpu_data", ".whl"]
# It has NOT been run yet: no GPU was lent to the session that wrote it (2026-12-07).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 OMP_WAIT_POLICY=PASSIVE

if [[ "${1:-}" == "--pack" ]]; then
    out=${2:?--pack DIR [ROWS]}; rows=${3:-8000}
    python - "$out" "$rows" <<'EOF'
import shutil, sys
from pathlib import Path
import pandas as pd
src = Path("../shared/data/fer2013_dev")
out, rows = Path(sys.argv[1]) / "fer2013_dev", int(sys.argv[2])
labels = pd.read_csv(src / "labels.csv", dtype=str, keep_default_na=False)
train = labels[labels["split"] == "train"].sample(n=rows, random_state=0)
keep = pd.concat([train, labels[labels["split"] == "test"]])
for p in keep["path"]:
    (out / p).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / p, out / p)
keep.to_csv(out / "labels.csv", index=False)
print(f"packed {len(keep)} rows into {out}")
EOF
    grep -qxF "/$(basename "$out")/" .git/info/exclude 2>/dev/null || echo "/$(basename "$out")/" >> .git/info/exclude
    exit 0
fi

DATA=${1:-.gpu_data}/fer2013_dev
WORK=${WORK:-.cache/gpu_check}
rm -rf "$WORK" && mkdir -p "$WORK"
[[ -d .whl ]] && python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:.
export PYTHONPATH=${PYTHONPATH:-.}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$WORK/gpu.txt"

t0=$(date +%s)
echo "== 1. step cost (bf16 autocast)"
timeout 150 python bench/bench_step_cost.py --device cuda --reps 8 --warmup 3 \
    --configs resnet18:112:64 resnet18:224:64 resnet50:112:64 resnet50:224:32 | tee "$WORK/step_cost.md" || echo "step cost: failed or timed out"

echo "== 2. logging cost"
timeout 120 python bench/bench_logging_cost.py --device cuda --arch resnet18 --image-size 112 --rounds 2 --limit 4096 \
    --work "$WORK/logging" --name gpu_logging_cost > "$WORK/logging.md" 2>"$WORK/logging.err" || echo "logging cost: failed or timed out"
tail -n 12 "$WORK/logging.md" || true

echo "== 3. fine-tune on fer2013_dev"
python -m data_tools import --format csv --csv "$DATA/labels.csv" --root "$DATA" --out "$WORK/fer" > /dev/null
timeout 120 python -m eac_core.train --dataset "$WORK/fer" --out "$WORK/pre" --preset paper --arch resnet18 --image-size 112 \
    --epochs 1 --device cuda 2> "$WORK/pre.log" || echo "pretrain: failed (see $WORK/pre.log)"
timeout 150 python -m eac_core.train --dataset "$WORK/fer" --out "$WORK/ft" --pretrained "$WORK/pre" --epochs 2 \
    --device cuda 2> "$WORK/ft.log" || echo "fine-tune: failed (see $WORK/ft.log)"

echo "== 4. torchrun smoke (1 GPU, NCCL)"
python -m data_tools demo --out "$WORK/demo" --n-train 512 --n-test 128 > /dev/null
timeout 90 torchrun --standalone --nproc_per_node 1 -m eac_core.train --dataset "$WORK/demo" --out "$WORK/ddp" \
    --epochs 1 --device cuda 2> "$WORK/ddp.log" && ddp=ok || ddp=failed

python - "$WORK" "$ddp" "$(( $(date +%s) - t0 ))" <<'EOF'
import json, sys
from pathlib import Path
import pandas as pd
work, ddp, secs = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
rows = [("GPU", (work / "gpu.txt").read_text().strip())]
for line in (work / "step_cost.md").read_text().splitlines() if (work / "step_cost.md").is_file() else []:
    if line.startswith("| resnet"):
        c = [x.strip() for x in line.strip("|").split("|")]
        rows.append((f"step {c[0]} {c[1]} px batch {c[2]}", f"CE {c[3]} ms, EAC {c[4]} ms, EAC/CE {c[5]}, "
                     f"EAC {int(c[2]) / float(c[4]) * 1000:.0f} img/s"))
for run in ("pre", "ft"):
    s, cfg = work / run / "summary.csv", work / run / "config.json"
    if s.is_file():
        d, c = pd.read_csv(s), json.loads(cfg.read_text())
        rows.append((f"{run}: {c['preset']} {c['arch']} {c['image_size']} px {c['mode']} ({c.get('att_form')}, λ {c['lam']})",
                     f"{len(d)} epochs, test acc {d['test_acc'].iloc[-1]:.3f}, {d['images_per_sec'].max():.0f} img/s, "
                     f"{d['seconds'].sum():.0f} s"))
    else:
        rows.append((run, "did not finish"))
rows += [("torchrun 1 GPU (NCCL)", ddp), ("whole check", f"{secs} s")]
print(pd.DataFrame(rows, columns=["check", "result"]).to_markdown(index=False))
EOF
