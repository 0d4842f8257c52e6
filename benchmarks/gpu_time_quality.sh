#!/usr/bin/env bash
# Issue 17's time-vs-quality curve on one GPU: the shipped prior + encoder on the two held-out real_proxy people,
# 256², steps 0,50,100,300,1100 (paper stage proportions), both inits, single image + monocular; then the instant
# mode's wall time (`gasp enroll FRAMES --mode instant`, one process: imports, model loads + SHA-256, encoder,
# decode, avatar file and figures). Device command (carry: .whl - the gsplat 1.5.3 + pytorch_msssim wheels):
#   bash benchmarks/gpu_time_quality.sh 540 1
# Arguments: BUDGET seconds for the whole script (default 540), WORKERS = time_vs_quality processes at once (1 or 2;
# default 1: with 2 the fits share the GPU and their seconds are not clean single-fit times), then extra arguments
# for benchmarks/time_vs_quality.py. Environment: SIZE (256), STEPS (0,50,100,300,1100), SETTINGS ("single_image
# monocular"; one each to split the curve over two calls with two $OUT folders), THREADS (CPU threads per process, 2),
# PYTHON (python3), OUT.
# The people (benchmarks/real_proxy_subjects.py: 900 and 901, 4 cameras x 4 frames at SIZE, the generator's tracking:
# dlib's 68-landmark model, which the main job's tracker uses for 900, is not on the device) are written on the CPU
# while gsplat's CUDA extension builds. The curve is computed in one time_vs_quality.py call per (person, setting)
# with --append, so a budget cut keeps every finished call. ID-SIM needs dlib: 'unavailable' on the device.
# Instant timing (the CLI's own thread setting, not THREADS): from 900's frames (no tracking) always; from a photo
# (tracking included) only where dlib imports.
# Returns $OUT/time_vs_quality_h200.{parquet,md,png}, instant_gpu.txt, device.txt, log.txt.
# CPU smoke test (no GPU: device cpu, writes only under /tmp):
#   OUT=/tmp/gtq_out SIZE=48 STEPS=0,2 PYTHON=/work/venv/bin/python bash benchmarks/gpu_time_quality.sh 900 1 \
#     --preset tiny --max-eval-frames 2 --metrics psnr,ssim
set -uo pipefail
budget=${1:-540}
workers=${2:-1}
shift 2 || shift $#
OUT=${OUT:-/tmp/gpu_time_quality_out}
mkdir -p "$OUT"
run=$(mktemp -d /tmp/gpu_time_quality_run.XXXXXX)
size=${SIZE:-256}
steps=${STEPS:-0,50,100,300,1100}
export PYTHONUNBUFFERED=1 TORCH_CUDA_ARCH_LIST=9.0 MAX_JOBS=4 TORCH_EXTENSIONS_DIR=$PWD/.gsplat_build \
       OMP_NUM_THREADS=${THREADS:-2} NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
PY=${PYTHON:-python3}
log=$OUT/log.txt
source benchmarks/gpu_env.sh
start_gpu_env  # gsplat from the carried wheels, built beside the people
if [ "$on_gpu" = 1 ]; then device=cuda tag=h200; else device=cpu tag=cpu_smoke; fi
$PY benchmarks/real_proxy_subjects.py --root "$run/people" --size "$size" > "$run/tables.txt" 2>> "$log" \
  || { echo "people not written (see $log)"; tail -3 "$log"; exit 1; }
mapfile -t tables < "$run/tables.txt"
(( ${#tables[@]} == 2 )) || { echo "people not written: ${tables[*]}"; exit 1; }
echo "people: ${tables[*]} ($SECONDS s)" | tee -a "$log"
[ -n "$build" ] && wait $build; tail -1 "$run/gsplat_build.log"
chunks=()
for t in "${tables[@]}"; do for s in ${SETTINGS:-single_image monocular}; do chunks+=("$t|$s"); done; done
reserve=60  # the instant-mode timing and the merge
worker() {  # worker k: chunks k, k + workers, ... into its own folder
  local k=$1 i t s left
  shift
  for (( i = k; i < ${#chunks[@]}; i += workers )); do
    t=${chunks[$i]%|*} s=${chunks[$i]#*|}
    left=$(( budget - SECONDS - reserve ))
    (( left > 20 )) || { echo "budget spent: $t $s not run"; continue; }
    timeout -k 5 $left $PY benchmarks/time_vs_quality.py \
      --prior gasp_models/gasp_prior_uv128_1k.safetensors --encoder gasp_models/encoder.safetensors \
      --frames "$t" --settings "$s" --steps "$steps" --image-size "$size" --device $device --tag $tag \
      --out "$run/w$k" --append "$@" 2>&1 | grep -vE "^\|" || echo "call failed or cut: $t $s"
  done
}
for (( k = 0; k < workers; k++ )); do worker $k "$@" >> "$log" 2>&1 & done
wait
grep -E "PSNR|not run|failed" "$log" | tail -45
# One table, markdown and plot from every worker's rows (evaluation.time_quality, as time_vs_quality.py writes them).
$PY - "$run" "$OUT" "$tag" <<'EOF' 2>&1 | tee -a "$log"
import sys
from pathlib import Path

import pandas as pd

from evaluation.time_quality import markdown_table, plot_time_quality, summarise
from gasp_ops.io.atomic import write_text_atomic
from gasp_ops.io.tables import read_parquet, write_parquet

run, out, tag = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
parts = [read_parquet(p) for p in sorted(run.glob(f"w*/time_vs_quality_{tag}.parquet"))]
if not parts:
    sys.exit("no time-vs-quality rows")
rows = pd.concat(parts, ignore_index=True)
write_parquet(out / f"time_vs_quality_{tag}.parquet", rows)
summary = summarise(rows)
write_text_atomic(out / f"time_vs_quality_{tag}.md", markdown_table(summary))
plot_time_quality(summary, out / f"time_vs_quality_{tag}.png", [m for m in ("psnr", "ssim", "id_sim")
                                                                   if m in set(rows.metric)])
print(markdown_table(summary))
EOF
# Instant mode, one process each (the first also pays CUDA's start-up), from 900's frames: tracking not included.
for i in 1 2; do
  t0=$(date +%s%N)
  env -u OMP_NUM_THREADS $PY -m pipelines.cli enroll "$(dirname "${tables[0]}")" --out "$run/instant$i" \
    --mode instant --consent granted --setting single_image --image-size "$size" --device $device >> "$log" 2>&1 \
    || echo "instant enrol failed" >> "$log"
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  echo "gasp enroll FRAMES --mode instant ($device, $size px, tracking not included) run $i: $ms ms wall" \
    | tee -a "$OUT/instant_gpu.txt"
done
# The photo path with tracking (scikit-image's astronaut; landmarks: face_net, matting: GrabCut) needs dlib's face
# detector: only when a dlib wheel (dlib-bin) travels in .whl.
if $PY -c "import dlib" 2> /dev/null; then
  $PY -c "import cv2, skimage.data, sys; cv2.imwrite(sys.argv[1], skimage.data.astronaut()[..., ::-1])" \
    "$run/astronaut.png"
  for i in 1 2; do
    t0=$(date +%s%N)
    env -u OMP_NUM_THREADS $PY -m pipelines.cli enroll "$run/astronaut.png" --out "$run/photo$i" --mode instant \
      --consent granted --device $device >> "$log" 2>&1 || echo "photo enrol failed" >> "$log"
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    echo "gasp enroll astronaut.png --mode instant ($device, tracking included) run $i: $ms ms wall" \
      | tee -a "$OUT/instant_gpu.txt"
  done
else
  echo "photo -> avatar not timed: no dlib here (its face detector picks the face; carry a dlib-bin wheel)" \
    | tee -a "$OUT/instant_gpu.txt"
fi
echo "wall $SECONDS s" | tee -a "$log"
