#!/usr/bin/env bash
# One GPU check of irgmotion, under 8 minutes on one GPU: stage-1 SFT throughput (smollm2; gemma-2-2b's architecture
# and dimensions at random init through the gemma2-2b preset), generation latency and batched throughput, and a
# 64-clip `irgmotion bench`, all with --device $DEVICE. Each step runs under its own timeout, so one failure or hang
# costs only its own budget; a summary is printed at the end and written with every step's log and JSON.
#
#   benchmarks/gpu_check.sh                     # DEVICE=cuda, full sizes
#   DEVICE=cpu benchmarks/gpu_check.sh --quick  # tiny sizes: checks the script itself on a CPU in a few minutes
#
# Results: $OUT/gpu_check when OUT is set (the device runner's output folder), else benchmarks/results/gpu_check.
# PYTHON (default: python) runs everything; run it from anywhere, it works in the repository root.
set -u
cd "$(dirname "$0")/.."
QUICK=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    *) echo "error: gpu_check.sh: unknown argument $arg (expected --quick)" >&2; exit 2 ;;
  esac
done
DEVICE=${DEVICE:-cuda}
PY=${PYTHON:-python}
RESULTS=${OUT:+$OUT/gpu_check}
RESULTS=${RESULTS:-benchmarks/results/gpu_check}
mkdir -p "$RESULTS"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
BUNDLE=irgmotion/assets/bundle

if [ "$QUICK" = 1 ]; then  # sizes that finish in minutes on 2 CPU cores
  CLIPS=240; BUILD_LIMIT=8; SFT_STEPS=2; SFT_WARMUP=1; SFT_BATCH=2; SFT_LEN=128; GEMMA_DIMS=tiny
  GOALS=4; BATCHES="--batch 4"; NEW_TOKENS=160; BENCH_LIMIT=32; BENCH_REPEATS=1
  BENCH_CAPS="--max-rounds 1 --max-new-tokens 160"
  T_DATA=300; T_SFT=300; T_GEMMA=300; T_DECODE=300; T_BENCH=900
else  # one GPU: the budgets add up to under 8 minutes
  CLIPS=600; BUILD_LIMIT=64; SFT_STEPS=10; SFT_WARMUP=2; SFT_BATCH=8; SFT_LEN=512; GEMMA_DIMS=real
  GOALS=24; BATCHES="--batch 8 --batch 24"; NEW_TOKENS=1400; BENCH_LIMIT=64; BENCH_REPEATS=5
  BENCH_CAPS=""  # the bench's own: 6 rounds, 1400 tokens
  T_DATA=75; T_SFT=65; T_GEMMA=130; T_DECODE=100; T_BENCH=90  # 460 s in all
fi
WORKERS=$(nproc 2>/dev/null || echo 2)

SUMMARY="$RESULTS/summary.txt"
: > "$SUMMARY"
note() { echo "$*" | tee -a "$SUMMARY"; }

# step NAME SECONDS COMMAND...: run with a timeout, log to RESULTS/NAME.log, record the status and wall time
step() {
  local name=$1 limit=$2; shift 2
  local start end rc
  start=$(date +%s)
  echo "== $name (timeout ${limit} s): $*"
  timeout --kill-after=10 "$limit" "$@" > "$RESULTS/$name.log" 2>&1
  rc=$?
  end=$(date +%s)
  local status=ok
  [ "$rc" = 124 ] || [ "$rc" = 137 ] && status="TIMED OUT after ${limit} s"
  [ "$rc" != 0 ] && [ "$status" = ok ] && status="FAILED (exit $rc)"
  echo "$name: $status, $((end - start)) s" >> "$WORK/steps"
  [ "$status" = ok ] || tail -n 5 "$RESULTS/$name.log" | sed 's/^/   | /'
  return "$rc"
}

started=$(date +%s)
note "irgmotion GPU check: DEVICE=$DEVICE, $([ "$QUICK" = 1 ] && echo quick || echo full) sizes, $(date -u +%Y-%m-%dT%H:%MZ), $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
$PY - "$DEVICE" <<'EOF' 2>&1 | tee -a "$SUMMARY"
import sys, torch
from irgmotion.devices import DeviceError, describe_device, resolve_device
try:
    print(f"torch {torch.__version__}, device {describe_device(resolve_device(sys.argv[1]))}")
except DeviceError as exc:
    print(f"error: DEVICE={sys.argv[1]}: {exc}")
    sys.exit(2)
EOF
[ "${PIPESTATUS[0]}" = 0 ] || exit 2

# data: a procedural corpus (the test split feeds decoding and bench) and a stage-1 engine build (SFT examples)
step data "$T_DATA" bash -c "$PY -m irgmotion data synth --out '$WORK/corpus' --n $CLIPS --workers $WORKERS &&
  $PY -m irgmotion build stage1 --data '$WORK/corpus' --out '$WORK/engine' --limit $BUILD_LIMIT --workers $WORKERS"

SFT=(--engine "$WORK/engine" --vq "$BUNDLE/vq" --motion-root "$WORK/corpus" --device "$DEVICE" --steps "$SFT_STEPS"
     --warmup "$SFT_WARMUP" --batch "$SFT_BATCH" --max-length "$SFT_LEN")
step sft_smollm2 "$T_SFT" $PY benchmarks/sft_throughput.py --preset smollm2 "${SFT[@]}" --out "$RESULTS/sft_smollm2.json"
step sft_gemma2 "$T_GEMMA" $PY benchmarks/sft_throughput.py --preset gemma2-2b --gemma2-dims "$GEMMA_DIMS" "${SFT[@]}" \
  --out "$RESULTS/sft_gemma2.json"
# shellcheck disable=SC2086
step decoding "$T_DECODE" $PY benchmarks/decoding_throughput.py --data "$WORK/corpus" --goals "$GOALS" $BATCHES \
  --max-new-tokens "$NEW_TOKENS" --device "$DEVICE" --threads "$WORKERS" --out "$RESULTS/decoding.json"
# shellcheck disable=SC2086
step bench "$T_BENCH" $PY -m irgmotion bench --bundle "$BUNDLE" --data "$WORK/corpus" --evaluator "$BUNDLE/evaluator/guo" \
  --limit "$BENCH_LIMIT" --repeats "$BENCH_REPEATS" --verdict rule $BENCH_CAPS --device "$DEVICE" --out "$RESULTS/bench"

note ""
note "steps:"
sed 's/^/  /' "$WORK/steps" | tee -a "$SUMMARY"
$PY - "$RESULTS" <<'EOF' 2>&1 | tee -a "$SUMMARY"
import json, sys
from pathlib import Path
r = Path(sys.argv[1])
def load(name):
    try:
        return json.loads((r / name).read_text())
    except (OSError, ValueError):
        return None
for name in ("sft_smollm2.json", "sft_gemma2.json"):
    s = load(name)
    if s:
        print(f"SFT stage 1, {s['preset']} ({s['architecture']}, {s['base'] or 'packaged weights'}, "
              f"{s['parameters_m']}M parameters, {s['trainable_m']}M trainable): {s['tokens_per_second']:.0f} tokens/s, "
              f"{s['seconds_per_step']:.3f} s/step at batch {s['batch']} ({s['mean_tokens_per_batch']:.0f} tokens), "
              f"bf16 {'on' if s['bf16_autocast'] else 'off'}" + (f", peak {s['peak_memory_gib']} GiB" if 'peak_memory_gib' in s else ""))
d = load("decoding.json")
if d:
    one = d["batches"]["1"]
    print(f"generate ({d['goals']} goals, {d['verdict']} verdict, {d['device']}): latency {one['seconds_per_goal']:.3f} s "
          "per goal at batch 1" + "".join(f"; batch {b}: {v['goals_per_second']:.2f} goals/s ({v['speed_up']:.2f}x), "
                                          f"identical traces {v['identical_traces']}/{d['goals']}"
                                          for b, v in d["batches"].items() if b != "1"))
b = load("bench.json")
if b and "standard" in b:
    part = b["standard"]
    for name, lat in part["latency"].items():
        print(f"bench ({part['clips']} clips, {part.get('device')}): {name}: "
              + ", ".join(f"{k.replace('_', ' ')} {v:.3f}" for k, v in lat.items()))
    for kind, res in part["evaluators"].items():
        for row, m in res["rows"].items():
            if "final" in row or "Ground" in row or "ground" in row:
                print(f"bench {kind}: {row}: R@1 {m['top1']['mean']:.3f}, FID {m['fid']['mean']:.3f}")
EOF
note "total: $(( $(date +%s) - started )) s; logs and JSON in $RESULTS"
! grep -q -v ": ok," "$WORK/steps"
