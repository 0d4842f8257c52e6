#!/usr/bin/env bash
# Issue 17's "photo -> avatar file <= 2 s on the H200, tracking included", on one GPU machine:
#   bash benchmarks/gpu_instant_latency.sh <COMMIT>
# Carry: .whl with the gsplat 1.5.3, pytorch_msssim and dlib-bin wheels (dlib: the photo's face framing).
# 1. gsplat's CUDA extension is built (JIT, ~65 s) and loaded once.
# 2. benchmarks/instant_latency.py: a warm process (head, shipped prior and encoder loaded once) enrols
#    scikit-image's astronaut photo RUNS times on cuda: framing, landmarks, matte, 3DMM tracking, encoder, decode,
#    photo projection, avatar file + fit.json; the first request apart (warm-up), then the median. Once without and
#    once with the preview PNGs the CLI writes.
# 3. The same as whole commands (a cold process each: Python start, imports, SHA-256 checks):
#    `gasp enroll astronaut.png --mode instant --device cuda [--no-figures]`.
# Returns $OUT/instant_latency_{bare,figures}.json, instant_cli.txt, device.txt, log.txt.
# CPU smoke test: OUT=/tmp/il PYTHON=/work/venv/bin/python DEVICE=cpu RUNS=2 bash benchmarks/gpu_instant_latency.sh x
set -uo pipefail
commit=${1:-unknown}
OUT=${OUT:-/tmp/gpu_instant_latency_out}
runs=${RUNS:-6}
mkdir -p "$OUT"
run=$(mktemp -d /tmp/gpu_instant_latency_run.XXXXXX)
export PYTHONUNBUFFERED=1 TORCH_CUDA_ARCH_LIST=9.0 MAX_JOBS=16 TORCH_EXTENSIONS_DIR=$PWD/.gsplat_build
PY=${PYTHON:-python3}
log=$OUT/log.txt
source benchmarks/gpu_env.sh
start_gpu_env
if [ "$on_gpu" = 1 ]; then device=${DEVICE:-cuda}; else device=${DEVICE:-cpu}; fi
[ -n "$build" ] && wait $build; tail -1 "$run/gsplat_build.log" | tee -a "$log"
for variant in bare figures; do
  extra=(); [ "$variant" = figures ] && extra=(--figures)
  $PY benchmarks/instant_latency.py --device "$device" --runs "$runs" --commit "$commit" "${extra[@]}" \
    --out "$OUT/instant_latency_$variant.json" 2>&1 | tee -a "$log" | grep -E "request|warm_median"
done
$PY -c "import cv2, skimage.data; cv2.imwrite('$run/astronaut.png', cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))"
for flag in --no-figures ""; do
  for k in 1 2; do
    t0=$EPOCHREALTIME
    $PY -m pipelines.cli enroll "$run/astronaut.png" --out "$run/cli_$k" --mode instant --device "$device" \
      --consent granted $flag >> "$log" 2>&1
    rc=$?
    echo "gasp enroll astronaut.png --mode instant --device $device $flag: rc $rc, $(awk "BEGIN {printf \"%.2f\", $EPOCHREALTIME - $t0}") s wall" \
      | tee -a "$OUT/instant_cli.txt"
  done
done
echo "commit $commit" >> "$OUT/instant_cli.txt"
