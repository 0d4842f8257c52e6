#!/usr/bin/env bash
# Tables 1-3 on one GPU machine (torch, no gsplat, no Dagster, no internet) in device calls of <= 10 minutes:
#   bash benchmarks/gpu_tables.sh single_image,monocular,enrolment 570 --commit <HASH>    # Table 1 (+ issue 17's modes)
#   bash benchmarks/gpu_tables.sh ablations,prior_size,multi_camera 480 --commit <HASH>   # Table 3 rows, Table 2
# Carry: .whl (gsplat 1.5.3 + pytorch_msssim wheels) and the Tab. 3 priors present, plain or xz-compressed under
# .gpu_carry/xz/: p{1,10,100,1000}_prior.safetensors (the prior-size rows, all at 4,791 training steps; p1000 = the
# shipped prior of commit 9304dad, before it was trained on: `git show 9304dad:gasp_models/gasp_prior_uv128_1k.safetensors`)
# and uv{64,128,256,512}_prior.safetensors (the UV rows: 100 identities, 2,000 steps each, trained side by side in
# one call, `gpu_shipped_prior.sh uv`; their uv_priors.tar holds them); a prior not carried is a 'not run' row. Extra arguments go to benchmarks/gpu_tables.py
# (e.g. --skip-done .gpu_carry/rows_call1.jsonl, --subjects 5, --baseline-steps 3000, --workers 12).
# Returns $OUT/tables_<groups>.tar (rows.jsonl: one row per fit; renders/: the test-camera renders of every fit and
# each person's ground truth; the log) - split into 15 MiB parts when larger - and device.txt.
# On the CPU afterwards: python3 benchmarks/tables_report.py --rows <files_at>/tables_*.tar --results results
set -uo pipefail
groups=${1:-single_image,monocular}
budget=${2:-560}
shift 2 || shift $#
OUT=${OUT:-/tmp/gpu_tables_out}
tag=${groups//,/_}
run=/tmp/gpu_tables_run_$tag
rm -rf "$run"; mkdir -p "$OUT" "$run"
export PYTHONUNBUFFERED=1 TORCH_CUDA_ARCH_LIST=9.0 MAX_JOBS=6 TORCH_EXTENSIONS_DIR=$PWD/.gsplat_build \
       NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
PY=${PYTHON:-python3}
source benchmarks/gpu_env.sh
start_gpu_env  # gsplat from the carried wheels, built beside the people's renders (CPU smoke test: --device cpu)
priors=()
if [[ ",$groups," == *",prior_size,"* ]]; then
  # Priors may travel xz-compressed (.gpu_carry/xz/NAME_prior.safetensors.xz: fp16 weights shrink ~30 %, so more
  # of them fit beside the tree in one call's 64 MiB); unpacked here, each checked by its SHA-256 in the rows.
  for z in .gpu_carry/xz/*_prior.safetensors.xz; do
    [ -f "$z" ] && $PY -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], 'wb'))" \
      "$z" ".gpu_carry/$(basename "$z" .xz)"
  done
  for n in p1 p10 p100 p1000 uv64 uv128 uv256 uv512; do  # the prior-size rows, then the UV rows (100 identities)
    f=.gpu_carry/${n}_prior.safetensors
    if [ -f "$f" ]; then priors+=(--prior "$n=$f"); else echo "not carried: $f (row prior_$n not run here)" | tee -a "$run/log.txt"; fi
  done
fi
common=(--groups "$groups" --out "$run" --work /tmp/gpu_tables_people "${priors[@]}" "$@")
# The people's renders (mesh rasteriser, no gsplat) while gsplat builds; then every fit under the deadline.
$PY benchmarks/gpu_tables.py "${common[@]}" --prepare-only 2>&1 | tee -a "$run/log.txt" | tail -2
[ -n "$build" ] && wait $build; tail -1 "$run/gsplat_build.log"
# (timeout: a backstop should the pool not exit after its deadline; rows are flushed fit by fit)
timeout -k 5 $(( budget - SECONDS - 10 )) $PY benchmarks/gpu_tables.py "${common[@]}" --deadline $(( budget - SECONDS - 25 )) 2>&1 \
  | tee -a "$run/log.txt" | grep -vE "^\{" | tail -4
grep -c '"fit_id"' "$run/rows.jsonl" 2>/dev/null
tar cf "$OUT/tables_$tag.tar" -C "$run" .
size=$(stat -c %s "$OUT/tables_$tag.tar")
if [ "$size" -gt 15728640 ]; then split -b 15m "$OUT/tables_$tag.tar" "$OUT/tables_$tag.tar.part."; rm "$OUT/tables_$tag.tar"; fi
ls -la "$OUT"
echo "wall $SECONDS s"
