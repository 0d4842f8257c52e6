#!/usr/bin/env bash
# Table 3's trained priors, retrained in one device call beside the fits that need none of them (issue 15):
#   bash benchmarks/gpu_table3_priors.sh BUDGET PRIORS GROUPS [gpu_tables.py arguments for those fits]
# e.g. bash benchmarks/gpu_table3_priors.sh 580 p1,p10,p100,uv64,uv128,uv256,uv512 multi_camera,prior_size \
#        --commit <HASH> --workers 6 --variants gaussian_avatars,flash_avatar,prior_p1000
# The prior-size priors (first 1 / 10 / 100 identities, 4,791 steps, UV 128) and the UV priors (100 identities,
# UV 64 / 128 / 256 / 512, 2,000 steps) are the settings of `gpu_shipped_prior.sh models` and `... uv`, trained side
# by side on the first 100 identities of the shipped prior's data plan (seed 0, 16 views, 256², texture 256). The
# device keeps nothing between sessions and a call carries at most 64 MiB in, so the next call of the same session
# gets them back xz-compressed (.gpu_carry/xz/<name>_prior.safetensors.xz, unpacked by gpu_tables.sh).
# PRIOR_ROOT (default .gpu_prior): the data and the training checkpoints; an ignored folder (e.g. tmp_gpu_prior,
# matched by .gitignore's /tmp*/) stays on a warm device machine between calls, so a cut training resumes there.
# Returns $OUT/table3_priors.tar.xz (fp16 priors, summaries, curves, log tails; split into 15 MiB parts when larger),
# train.log and the fits' tables_<groups>.tar.
set -uo pipefail
budget=${1:?budget seconds}
wanted=${2:?priors to train: a comma list of p1 p10 p100 uv64 uv128 uv256 uv512}
groups=${3:?groups of the fits beside the training}
shift 3
OUT=${OUT:-/tmp/gpu_table3_priors_out}
run=/tmp/gpu_table3_priors_run
root=${PRIOR_ROOT:-.gpu_prior}
rm -rf "$run"; mkdir -p "$OUT" "$run"
export PYTHONUNBUFFERED=1 TORCH_CUDA_ARCH_LIST=9.0 MAX_JOBS=6 TORCH_EXTENSIONS_DIR=$PWD/.gsplat_build \
       NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
PY=${PYTHON:-python3}
source benchmarks/gpu_env.sh
source benchmarks/prior_variants.sh
start_gpu_env
# The data renders (mesh rasteriser, no gsplat) while gsplat builds; only then the fits start (gpu_tables.sh imports
# the built extension: two JIT builds in one folder delete each other's files) and end on the same deadline.
$PY benchmarks/gpu_shipped_prior.py data --root "$root" --identities 100 --views 16 --size 256 --texture 256 \
    --workers 12 2>&1 | grep -E "images_per_second" | tail -1
[ -n "$build" ] && wait $build; tail -1 "$run/gsplat_build.log"
# FITS_AFTER=1: the GPU trains alone (fits beside it slow each prior ~3x: 6 priors + 8 fits gave ~6 steps/s each);
# the people render meanwhile, and the fits - those of the new priors too - start when the training ends. (Not yet run
# on the device: the session that wrote it got no machine for it; the default, fits beside, ran as call 15.)
if [ "${FITS_AFTER:-0}" = 1 ]; then
  # (the people are the same for every group; prior_size would want the --prior files, which do not exist yet)
  $PY benchmarks/gpu_tables.py --groups monocular --out "$run/prepare" --work /tmp/gpu_tables_people --prepare-only \
      "$@" > "$run/prepare.log" 2>&1 &
else
  OUT=$OUT bash benchmarks/gpu_tables.sh "$groups" $(( budget - SECONDS - 20 )) "$@" > "$run/fits.log" 2>&1 &
  fits=$!
fi
variants=()
for v in ${wanted//,/ }; do
  case $v in
    p1|p10|p100) variants+=(--variant "$(size_spec ${v#p})") ;;
    uv64|uv128|uv256|uv512) variants+=(--variant "$(uv_spec ${v#uv} 2000)") ;;
    *) echo "unknown prior $v (p1 p10 p100 uv64 uv128 uv256 uv512)"; exit 2 ;;
  esac
done
train_s=${TRAIN_S:-$(( budget - SECONDS - 45 ))}
echo "training $(( ${#variants[@]} / 2 )) priors for at most $train_s s"
$PY benchmarks/gpu_shipped_prior.py train --root "$root" --out "$run/priors" --seconds $train_s \
    --steps 4791 --uv 128 --size 256 "${variants[@]}" > "$OUT/train.log" 2>&1
for v in ${wanted//,/ }; do
  $PY -c "import json,sys; s=json.load(open(sys.argv[1])); print(sys.argv[2], 'steps', s.get('steps'), 'gaussians', s.get('gaussians'))" \
      "$root/priors/$v/summary.json" "$v" 2>&1 | tail -1
done
xz -T0 -6 -c "$run/priors/priors.tar" > "$OUT/table3_priors.tar.xz"
if [ "$(stat -c %s "$OUT/table3_priors.tar.xz")" -gt 15728640 ]; then
  split -b 15m "$OUT/table3_priors.tar.xz" "$OUT/table3_priors.tar.xz.part."; rm "$OUT/table3_priors.tar.xz"
fi
if [ "${FITS_AFTER:-0}" = 1 ]; then
  for v in ${wanted//,/ }; do cp "$root/priors/$v/prior_fp16.safetensors" ".gpu_carry/${v}_prior.safetensors"; done
  wait  # the people's renders
  OUT=$OUT bash benchmarks/gpu_tables.sh "$groups" $(( budget - SECONDS - 5 )) "$@" > "$run/fits.log" 2>&1
else
  wait $fits
fi
tail -8 "$run/fits.log"
ls -la "$OUT"
echo "wall $SECONDS s"
