#!/usr/bin/env bash
# The shipped prior on one GPU machine (torch, no gsplat, no internet), in device calls of <= 10 minutes:
#   bash benchmarks/gpu_shipped_prior.sh train [SECONDS_BUDGET]   # data (resumable) + 5 priors side by side
#   bash benchmarks/gpu_shipped_prior.sh eval  [SECONDS_BUDGET]   # held-out fits (benchmarks/gpu_heldout_fits.py)
# Needs beside the checkout (git-ignored): .whl/ with gsplat-1.5.3 and pytorch_msssim wheels. A later call on the
# same machine reuses .gpu_prior/ (data, checkpoints) and .gsplat_build/ (gsplat's JIT build); on a fresh machine
# `train` regenerates the data and resumes from .gpu_prior/priors/*/checkpoint.safetensors when those are put back.
set -uo pipefail
stage=${1:-train}
budget=${2:-540}
OUT=${OUT:-/tmp/gpu_shipped_prior_out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TORCH_CUDA_ARCH_LIST=9.0 MAX_JOBS=6 TORCH_EXTENSIONS_DIR=$PWD/.gsplat_build \
       NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
[ -d /tmp/site/gsplat ] || python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD
python3 -c "from gsplat.cuda._backend import _C; print('gsplat', _C is not None)" > "$OUT/gsplat_build.log" 2>&1 &
build=$!
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/device.txt"
if [ "$stage" = train ]; then
  python3 benchmarks/gpu_shipped_prior.py data --root .gpu_prior --identities 1000 --views 16 --size 256 \
      --texture 256 --workers 14 --max-seconds 200 2>&1 | tee "$OUT/data.log" | grep -E "identities,|images_per_second" | tail -4
  wait $build; tail -2 "$OUT/gsplat_build.log"
  left=$(( budget - SECONDS - 70 )); [ $left -lt 60 ] && left=60
  echo "training for $left s"
  python3 benchmarks/gpu_shipped_prior.py train --root .gpu_prior --out "$OUT" --seconds $left --steps 12000 \
      --uv 128 --size 256 \
      --variant 'all:0;lr={"codes":0.001}' --variant 'all_paper_lr:0' \
      --variant 'p100:100;lr={"codes":0.001}' --variant 'p10:10;lr={"codes":0.001}' \
      --variant 'p1:1;lr={"codes":0.001}'
  for v in .gpu_prior/priors/*; do grep -E "resumed|budget|Error|error" "$v/train.log" | tail -2; done
  ck=.gpu_prior/priors/all/checkpoint.safetensors
  [ -f $ck ] && split -b 15m $ck "$OUT/all_checkpoint.part."
  cp .gpu_prior/data_summary.json "$OUT/" 2>/dev/null
  ls -la "$OUT"
elif [ "$stage" = final ]; then
  # Held-out fits of the shipped prior (.gpu_carry/shipped_prior.safetensors), the main job's prior
  # (.gpu_carry/tiny_prior.safetensors) and no prior, while the prior-size ablation priors (1 / 10 / 100 identities,
  # same settings as the shipped one) train; then their fits. Rows go to $OUT/heldout_fits.jsonl.
  python3 benchmarks/gpu_shipped_prior.py data --root .gpu_prior --identities 100 --views 16 --size 256 \
      --texture 256 --workers 10 2>&1 | tail -1
  wait $build; tail -1 "$OUT/gsplat_build.log"
  python3 benchmarks/gpu_shipped_prior.py train --root .gpu_prior --out "$OUT/ablation" --seconds $(( budget * 35 / 100 )) \
      --steps 12000 --uv 128 --size 256 --variant 'p100:100;lr={"codes":0.001}' \
      --variant 'p10:10;lr={"codes":0.001}' --variant 'p1:1;lr={"codes":0.001}' > "$OUT/ablation_train.log" 2>&1 &
  train=$!
  fit="benchmarks/gpu_heldout_fits.py --out $OUT --subjects 10 --size 256 --sheet-subjects 2"
  python3 $fit --workers 10 --deadline $(( budget * 62 / 100 - SECONDS )) --prior shipped=.gpu_carry/shipped_prior.safetensors \
      --prior main_job=.gpu_carry/tiny_prior.safetensors --prior none= 2>&1 | grep -vE "^\{" | tail -3
  wait $train
  for v in p100 p10 p1; do cp .gpu_prior/priors/$v/prior_fp16.safetensors "$OUT/${v}_prior_fp16.safetensors"; done
  python3 $fit --workers 15 --deadline $(( budget - SECONDS - 15 )) --prior p100=.gpu_prior/priors/p100/prior_fp16.safetensors \
      --prior p10=.gpu_prior/priors/p10/prior_fp16.safetensors --prior p1=.gpu_prior/priors/p1/prior_fp16.safetensors \
      2>&1 | grep -vE "^\{" | tail -3
  rm -rf "$OUT/ablation"
elif [ "$stage" = eval ]; then
  wait $build; tail -1 "$OUT/gsplat_build.log"
  shift 2
  python3 benchmarks/gpu_heldout_fits.py --out "$OUT" --deadline $(( budget - SECONDS - 20 )) "$@"
fi
echo "wall $SECONDS s"
