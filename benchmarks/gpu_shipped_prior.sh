#!/usr/bin/env bash
# The shipped prior on one GPU machine (torch, no gsplat, no internet), in device calls of <= 10 minutes:
#   bash benchmarks/gpu_shipped_prior.sh train [SECONDS_BUDGET]   # data (resumable) + 5 priors side by side
#   bash benchmarks/gpu_shipped_prior.sh models [SECONDS_BUDGET]  # data + 1/10/100-identity priors + encoder + face_net
#   bash benchmarks/gpu_shipped_prior.sh heldout [SECONDS_BUDGET] # held-out fits of every prior variant + data rate
#   bash benchmarks/gpu_shipped_prior.sh extend [SECONDS_BUDGET]  # resume the shipped prior alone + its encoder + fits
#   bash benchmarks/gpu_shipped_prior.sh faces [SECONDS_BUDGET]   # data rate 512²/256², then face_net (issue 16)
#   bash benchmarks/gpu_shipped_prior.sh eval  [SECONDS_BUDGET] ARGS [-- ARGS ...]  # held-out fits, groups in turn
#   bash benchmarks/gpu_shipped_prior.sh equal_steps [SECONDS_BUDGET]  # 100 identities at the shipped prior's steps + fits
#   bash benchmarks/gpu_shipped_prior.sh long [SECONDS_BUDGET]       # 1,000 identities at batch 32, resumable
#   bash benchmarks/gpu_shipped_prior.sh long_eval [SECONDS_BUDGET]  # its encoder + held-out fits beside the others
#   bash benchmarks/gpu_shipped_prior.sh codereg [SECONDS_BUDGET]    # 1,000-identity priors, code-size weights side by side
#   bash benchmarks/gpu_shipped_prior.sh views [SECONDS_BUDGET]      # views per identity at an equal image count
#   bash benchmarks/gpu_shipped_prior.sh lit [SECONDS_BUDGET] ARGS   # a prior trained under key light, its encoder, fits
# Needs beside the checkout (git-ignored): .whl/ with gsplat-1.5.3 and pytorch_msssim wheels. A later call on the
# same machine reuses .gpu_prior/ (data, checkpoints) and .gsplat_build/ (gsplat's JIT build); on a fresh machine
# `train` regenerates the data and resumes from .gpu_prior/priors/*/checkpoint.safetensors when those are put back.
set -uo pipefail
stage=${1:-train}
budget=${2:-540}
OUT=${OUT:-/tmp/gpu_shipped_prior_out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TORCH_CUDA_ARCH_LIST=9.0 TORCH_EXTENSIONS_DIR=$PWD/.gsplat_build \
       NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
[ -d /tmp/site/gsplat ] || python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD
source benchmarks/prior_variants.sh
# gsplat's JIT build: 16 compile jobs when it runs alone (`eval`: 65 s on the H200 host's 16 cores, 2026-12-03), 6 when
# it runs beside the data generation's workers.
export MAX_JOBS=$([ "$stage" = eval ] && echo 16 || echo 6)
# Synthetic people at the shipped prior's resolution (256² images, 256² textures); the other arguments as given.
data256() { python3 benchmarks/gpu_shipped_prior.py data --size 256 --texture 256 "$@"; }
# data_for NAME ARGS: data256 into tmp_NAME on 14 workers (log $OUT/data_NAME.log; prints the rate).
data_for() {
  local name=$1; shift
  data256 --root tmp_$name --workers 14 "$@" > "$OUT/data_$name.log" 2>&1
  grep -E "images_per_second" "$OUT/data_$name.log" | tail -1
}
# side_by_side NAME...: one prior per NAME on tmp_NAME's data (all identities, batch 32, the CODEREG_STEPS schedule,
# default 4,000), trained side by side on the GPU within the stage's budget; then $OUT/$stage.tar holds their fp16
# priors, summaries, curves, train logs and data logs (fit them with the `eval` stage).
side_by_side() {
  wait $build; tail -1 "$OUT/gsplat_build.log"
  local left=$(( budget - SECONDS - 45 )) n files=()
  for n in "$@"; do
    python3 benchmarks/gpu_shipped_prior.py train --root tmp_$n --out "$OUT/$n" --seconds $left \
        --steps ${CODEREG_STEPS:-4000} --uv 128 --size 256 \
        --variant "$(variant_spec $n 0 batch_size=32)" > "$OUT/${n}_train.log" 2>&1 &
  done
  wait
  for n in "$@"; do
    grep -E "budget" tmp_$n/priors/$n/train.log | tail -1
    files+=("$n/priors.tar" "data_$n.log" "${n}_train.log")
  done
  tar cf "$OUT/$stage.tar" -C "$OUT" "${files[@]}" gsplat_build.log device.txt
  for n in "$@"; do rm -rf "${OUT:?}/$n"; done
  rm -f "$OUT"/*.log "$OUT/device.txt"
  ls -la "$OUT"
}
# encoder_beside_fits NAME PRIOR DATASET PROXY FIT_ARGS...: the identity encoder for PRIOR (proxy weight 8, as the
# shipped encoder; ENC_S seconds, default 150) trained on the synthetic datasets DATASET (the prior's people) and
# PROXY (real_proxy people) while gpu_heldout_fits.py fits FIT_ARGS on the same GPU; then $OUT/encoder_NAME.tar
# (encoder, summary, curves, log tail) beside the fits' rows.
encoder_beside_fits() {
  local name=$1 prior=$2 dataset=$3 proxy=$4 enc
  shift 4
  OMP_NUM_THREADS=4 timeout $(( budget - SECONDS - 10 )) python3 benchmarks/gpu_train_encoder.py --prior $prior \
      --dataset $dataset --proxy-dataset $proxy --set proxy_weight=8 --out tmp_enc_$name \
      --work /tmp/enc_work_$name --seconds ${ENC_S:-150} > tmp_enc_$name.log 2>&1 &
  enc=$!
  python3 benchmarks/gpu_heldout_fits.py --out "$OUT" --deadline $(( budget - SECONDS - 15 )) "$@" 2>&1 \
      | grep -vE "^\{" | tail -3
  wait $enc
  mkdir -p tmp_enc_$name; tail -c 4000 tmp_enc_$name.log > tmp_enc_$name/train_tail.log
  tar cf "$OUT/encoder_$name.tar" -C tmp_enc_$name . 2>/dev/null
}
build=
if [ "$stage" != faces ]; then  # every stage but `faces` fits avatars: gsplat's JIT build in the background
  python3 -c "from gsplat.cuda._backend import _C; print('gsplat', _C is not None)" > "$OUT/gsplat_build.log" 2>&1 &
  build=$!
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/device.txt"
if [ "$stage" = train ]; then
  data256 --root .gpu_prior --identities 1000 --views 16 \
      --workers 14 --max-seconds 200 2>&1 | tee "$OUT/data.log" | grep -E "identities,|images_per_second" | tail -4
  wait $build; tail -2 "$OUT/gsplat_build.log"
  left=$(( budget - SECONDS - 70 )); [ $left -lt 60 ] && left=60
  echo "training for $left s"
  python3 benchmarks/gpu_shipped_prior.py train --root .gpu_prior --out "$OUT" --seconds $left --steps 12000 \
      --uv 128 --size 256 \
      --variant "$(variant_spec all 0)" --variant 'all_paper_lr:0' \
      --variant "$(size_spec 100)" --variant "$(size_spec 10)" --variant "$(size_spec 1)"
  for v in .gpu_prior/priors/*; do grep -E "resumed|budget|Error|error" "$v/train.log" | tail -2; done
  ck=.gpu_prior/priors/all/checkpoint.safetensors
  [ -f $ck ] && split -b 15m $ck "$OUT/all_checkpoint.part."
  cp .gpu_prior/data_summary.json "$OUT/" 2>/dev/null
  ls -la "$OUT"
elif [ "$stage" = final ]; then
  # Held-out fits of the shipped prior (.gpu_carry/shipped_prior.safetensors), the main job's prior
  # (.gpu_carry/tiny_prior.safetensors) and no prior, while the prior-size ablation priors (1 / 10 / 100 identities,
  # same settings as the shipped one) train; then their fits. Rows go to $OUT/heldout_fits.jsonl.
  data256 --root .gpu_prior --identities 100 --views 16 --workers 10 2>&1 | tail -1
  wait $build; tail -1 "$OUT/gsplat_build.log"
  python3 benchmarks/gpu_shipped_prior.py train --root .gpu_prior --out "$OUT/ablation" --seconds $(( budget * 35 / 100 )) \
      --steps 12000 --uv 128 --size 256 --variant "$(size_spec 100)" \
      --variant "$(size_spec 10)" --variant "$(size_spec 1)" > "$OUT/ablation_train.log" 2>&1 &
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
elif [ "$stage" = models ]; then
  # One call: the 1,000-identity data again (same plan/seed as `train`), then side by side on the GPU: the 1 / 10 /
  # 100-identity priors at the shipped prior's step count (4,791), the identity encoder against the shipped prior's
  # codes (issue 17) and the face_net matte + landmarks (issue 16). Everything comes back as tars in $OUT.
  data256 --root .gpu_prior --identities 1000 --views 16 \
      --workers 13 --max-seconds 200 2>&1 | tee "$OUT/data.log" | grep -E "images_per_second" | tail -1
  wait $build; tail -1 "$OUT/gsplat_build.log"
  left=$(( budget - SECONDS - 60 ))
  echo "models for $left s"
  python3 benchmarks/gpu_shipped_prior.py train --root .gpu_prior --out "$OUT/ablation" --seconds $(( left - 10 )) \
      --steps 4791 --uv 128 --size 256 --variant "$(size_spec 100)" \
      --variant "$(size_spec 10)" --variant "$(size_spec 1)" > "$OUT/ablation_train.log" 2>&1 &
  train=$!
  OMP_NUM_THREADS=2 timeout $(( left + 15 )) python3 benchmarks/gpu_train_encoder.py --prior gasp_models/gasp_prior_uv128_1k.safetensors \
      --dataset .gpu_prior/synthetic --out .enc_out --seconds $(( left - 70 )) > "$OUT/encoder.log" 2>&1 &
  enc=$!
  OMP_NUM_THREADS=2 timeout $(( left + 15 )) python3 benchmarks/gpu_train_face_models.py --out .face_out --identities 300 --views 8 \
      --budget-s $(( left - 200 )) > "$OUT/face_net.log" 2>&1 &
  face=$!
  wait $train $enc $face
  cp "$OUT/ablation/priors.tar" "$OUT/ablation_priors.tar"; rm -rf "$OUT/ablation"
  tar cf "$OUT/encoder.tar" -C .enc_out . 2>/dev/null
  tar cf "$OUT/face_net.tar" -C .face_out --exclude='pool_*' . 2>/dev/null
  tail -c 3000 "$OUT/encoder.log" > "$OUT/encoder_tail.log"; rm -f "$OUT/encoder.log"
  ls -la "$OUT"
elif [ "$stage" = heldout ]; then
  # Held-out single-image fits of every prior variant (shipped, the main job's, none, 1 / 10 / 100 identities from
  # .gpu_carry/), nothing else on the GPU; then the data-generation rate at 512² and 256² (issue 14, item 1).
  wait $build; tail -1 "$OUT/gsplat_build.log"
  python3 benchmarks/gpu_heldout_fits.py --out "$OUT" --subjects 10 --size 256 --sheet-subjects 3 --workers 12 \
      --deadline $(( budget - SECONDS - 110 )) --prior shipped=gasp_models/gasp_prior_uv128_1k.safetensors \
      --prior main_job=.gpu_carry/tiny_prior.safetensors --prior none= --prior p1=.gpu_carry/p1_prior.safetensors \
      --prior p10=.gpu_carry/p10_prior.safetensors --prior p100=.gpu_carry/p100_prior.safetensors 2>&1 \
      | grep -vE "^\{" | tail -3
  timeout $(( budget - SECONDS - 5 )) python3 benchmarks/gpu_shipped_prior.py speed --root .gpu_speed --out "$OUT" \
      --workers 15 2>&1 | tail -3
elif [ "$stage" = extend ]; then
  # Train the shipped 1,000-identity prior further, alone on the GPU: resume from its step-4,791 checkpoint
  # (.gpu_carry/all_checkpoint.safetensors; the data of `train`/`models` must be in .gpu_prior/synthetic), then side by
  # side the identity encoder for it and its held-out fits (the same 10 people and settings as `heldout`).
  pkill -f gpu_heldout_fits; mkdir -p .gpu_prior/priors/all
  [ -f .gpu_prior/priors/all/checkpoint.safetensors ] || cp .gpu_carry/all_checkpoint.safetensors .gpu_prior/priors/all/checkpoint.safetensors
  [ -f .gpu_prior/synthetic/views.parquet ] || data256 --root .gpu_prior \
      --identities 1000 --views 16 --workers 13 --max-seconds 200 2>&1 | tail -1
  wait $build; tail -1 "$OUT/gsplat_build.log"
  python3 benchmarks/gpu_shipped_prior.py train --root .gpu_prior --out "$OUT/extend" --seconds $(( budget - SECONDS - 200 )) \
      --steps 12000 --uv 128 --size 256 --variant "$(variant_spec all 0)" > "$OUT/extend_train.log" 2>&1
  grep -E "resumed|budget" .gpu_prior/priors/all/train.log | tail -2
  cp "$OUT/extend/priors.tar" "$OUT/all_prior.tar"; rm -rf "$OUT/extend"
  prior=.gpu_prior/priors/all/prior_fp16.safetensors
  OMP_NUM_THREADS=2 timeout $(( budget - SECONDS - 12 )) python3 benchmarks/gpu_train_encoder.py --prior $prior \
      --dataset .gpu_prior/synthetic --out .enc_out2 --seconds $(( budget - SECONDS - 75 )) > "$OUT/encoder.log" 2>&1 &
  enc=$!
  python3 benchmarks/gpu_heldout_fits.py --out "$OUT" --subjects 10 --size 256 --sheet-subjects 3 --workers 10 \
      --deadline $(( budget - SECONDS - 15 )) --prior shipped_long=$prior 2>&1 | grep -vE "^\{" | tail -2
  wait $enc
  tar cf "$OUT/encoder2.tar" -C .enc_out2 . 2>/dev/null
  tail -c 3000 "$OUT/encoder.log" > "$OUT/encoder_tail.log"; rm -f "$OUT/encoder.log"
  ls -la "$OUT"
elif [ "$stage" = faces ]; then
  # Nothing else on the machine: the data-generation rate at 512² and 256² first (issue 14, item 1), then the
  # project's matte + landmark network on its own synthetic renders (issue 16; pool rendered by 14 processes).
  timeout 200 python3 benchmarks/gpu_shipped_prior.py speed --root .gpu_speed --out "$OUT" --workers 15 2>&1 | tail -3
  left=$(( budget - SECONDS - 10 ))
  timeout $left python3 benchmarks/gpu_train_face_models.py --out .face_out --workers 14 --identities 300 --views 8 \
      --budget-s $(( left - 170 )) > "$OUT/face_net.log" 2>&1
  grep -E "rendered|step|iou|px" "$OUT/face_net.log" | tail -6
  tar cf "$OUT/face_net.tar" -C .face_out --exclude='pool_*' . 2>/dev/null
  ls -la "$OUT"
elif [ "$stage" = uv ]; then
  # Table 3's UV rows (issue 15): the 100-identity prior's data (first 100 identities of the shipped plan, seed 0),
  # four priors side by side differing only in the UV resolution (64 / 128 / 256 / 512), the same steps (UV_STEPS,
  # default 2,000; a prior cut by the time budget records its own step count), then their monocular fits on the
  # tables' held-out people (benchmarks/gpu_tables.sh, group prior_size, first 3 people). Extra arguments (after
  # the budget) go to gpu_tables.py, e.g. --commit <HASH>. Returns uv_priors.tar (fp16 priors, curves, logs) and
  # tables_prior_size.tar.
  shift 2
  data256 --root .gpu_prior --identities 100 --views 16 --workers 14 2>&1 | grep -E "images_per_second" | tail -1
  wait $build; tail -1 "$OUT/gsplat_build.log"
  train_s=${UV_TRAIN_S:-$(( (budget - SECONDS) * 48 / 100 ))}
  echo "training 4 UV priors for at most $train_s s"
  uv_variants=()
  for uv in 64 128 256 512; do uv_variants+=(--variant "$(uv_spec $uv)"); done
  python3 benchmarks/gpu_shipped_prior.py train --root .gpu_prior --out "$OUT/uv" --seconds $train_s \
      --steps ${UV_STEPS:-2000} --uv 128 --size 256 "${uv_variants[@]}" > "$OUT/uv_train.log" 2>&1
  for uv in 64 128 256 512; do
    python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print('uv$uv steps', s.get('steps'), 'gaussians', s.get('gaussians'))" \
        .gpu_prior/priors/uv$uv/summary.json 2>&1 | tail -1
  done
  mv "$OUT/uv/priors.tar" "$OUT/uv_priors.tar"; rm -rf "$OUT/uv"
  if [ "$(stat -c %s "$OUT/uv_priors.tar")" -gt 15728640 ]; then  # the device returns files of <= 16 MiB
    split -b 15m "$OUT/uv_priors.tar" "$OUT/uv_priors.tar.part."; rm "$OUT/uv_priors.tar"
  fi
  priors=()
  for uv in 64 128 256 512; do
    f=.gpu_prior/priors/uv$uv/prior_fp16.safetensors
    [ -f $f ] && priors+=(--prior "uv$uv=$f")
  done
  bash benchmarks/gpu_tables.sh prior_size $(( budget - SECONDS - 5 )) --group-subjects prior_size=3 --workers 12 \
      "${priors[@]}" "$@"
elif [ "$stage" = encoder ]; then
  # Issue 17's instant gap: the identity encoder for the shipped prior retrained with people the prior has no code
  # for (real_proxy identities 20,000..20,999: other texture statistics, directional light, colour cast, noise),
  # through a novel-view render loss beside the code loss on the prior's own 1,000 identities; two proxy weights
  # (ENC_WEIGHTS, default "2 8") side by side; the one with the higher novel-view PSNR on its held-out proxy people
  # is then scored on the tables' held-out people (gpu_tables.sh, group enrolment, --encoder). Views per identity:
  # ENC_VIEWS (default 6). Extra arguments (after the budget) go to gpu_tables.py, e.g. --commit <HASH>.
  # Returns enc_w<W>.tar (encoder, summary, curves, log tail) per weight and tables_enrolment.tar.
  shift 2
  views=${ENC_VIEWS:-6}
  # the shipped prior's own people as it was trained on them (domain prior_lit since 2026-12-03; ENC_DOMAIN=prior for a
  # prior of the uniform-light data)
  data256 --root .gpu_prior_${ENC_DOMAIN:-prior_lit} --domain ${ENC_DOMAIN:-prior_lit} --identities 1000 --views $views \
      --workers 7 > "$OUT/data_prior.log" 2>&1 &
  d1=$!
  data256 --root .gpu_proxy --domain real_proxy --start 20000 --identities 1000 \
      --views $views --workers 7 > "$OUT/data_proxy.log" 2>&1 &
  d2=$!
  wait $d1 $d2; tail -qn1 "$OUT/data_prior.log" "$OUT/data_proxy.log"
  wait $build; tail -1 "$OUT/gsplat_build.log"
  enc_s=$(( budget - SECONDS - ${ENC_RESERVE:-260} ))
  echo "training encoders for $enc_s s (at $SECONDS s)"
  pids=()
  for w in ${ENC_WEIGHTS:-2 8}; do
    OMP_NUM_THREADS=4 timeout $(( enc_s + 100 )) python3 benchmarks/gpu_train_encoder.py \
        --prior gasp_models/gasp_prior_uv128_1k.safetensors --dataset .gpu_prior_${ENC_DOMAIN:-prior_lit}/synthetic \
        --proxy-dataset .gpu_proxy/synthetic --set proxy_weight=$w --out .enc_w$w --work /tmp/enc_work_w$w \
        --seconds $enc_s > ".enc_w$w.log" 2>&1 &
    pids+=($!)
  done
  wait "${pids[@]}"
  best= best_psnr=-1
  for w in ${ENC_WEIGHTS:-2 8}; do
    tail -c 4000 ".enc_w$w.log" > ".enc_w$w/train_tail.log" 2>/dev/null
    tar cf "$OUT/enc_w$w.tar" -C ".enc_w$w" . 2>/dev/null
    p=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['report']; print(r['proxy_val_novel_view']['psnr_encoder'])" \
        ".enc_w$w/encoder_summary.json" 2>/dev/null || echo -1)
    echo "proxy weight $w: held-out proxy novel-view PSNR $p"
    if python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)" "$p" "$best_psnr"; then
      best=$w best_psnr=$p
    fi
  done
  [ -n "$best" ] || { echo "no encoder trained"; ls -la "$OUT"; exit 1; }
  echo "scoring proxy weight $best on the tables' people"
  bash benchmarks/gpu_tables.sh enrolment $(( budget - SECONDS - 5 )) --workers 15 \
      --encoder ".enc_w$best/encoder.safetensors" "$@"
elif [ "$stage" = equal_steps ]; then
  # Issue 14: do 1,000 identities beat 100 at equal long training? The 100-identity prior trained alone on the
  # shipped prior's schedule (12,000 steps) and stopped at the shipped prior's step (EQUAL_STEP, default 11,453;
  # a later call on the same machine resumes it), then the held-out fits (the 10 people and settings of `heldout`)
  # of it (equal_p100) and of the shipped prior (equal_p1000) side by side at this commit.
  step=${EQUAL_STEP:-11453} root=${PRIOR_ROOT:-.gpu_prior}  # PRIOR_ROOT: an ignored folder (tmp_*) stays on a warm machine
  data256 --root $root --identities 100 --views 16 --workers 14 2>&1 | grep -E "images_per_second" | tail -1
  wait $build; tail -1 "$OUT/gsplat_build.log"
  python3 benchmarks/gpu_shipped_prior.py train --root $root --out "$OUT/equal" --seconds $(( budget - SECONDS - 175 )) \
      --steps 12000 --stop-at $step --uv 128 --size 256 --variant "$(variant_spec p100_long 100)" \
      > "$OUT/equal_train.log" 2>&1
  grep -E "resumed|budget" $root/priors/p100_long/train.log | tail -2
  cp "$OUT/equal/priors.tar" "$OUT/p100_long_prior.tar"; rm -rf "$OUT/equal"
  done_steps=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['steps'])" $root/priors/p100_long/summary.json)
  echo "p100_long at step $done_steps of $step"
  if [ "$done_steps" = "$step" ]; then
    python3 benchmarks/gpu_heldout_fits.py --out "$OUT" --subjects 10 --size 256 --sheet-subjects 3 --workers 10 \
        --deadline $(( budget - SECONDS - 15 )) --prior equal_p1000=gasp_models/gasp_prior_uv128_1k.safetensors \
        --prior equal_p100=$root/priors/p100_long/prior_fp16.safetensors 2>&1 | grep -vE "^\{" | tail -3
  else
    echo "not fitted: the prior stopped at step $done_steps (run this stage again on the same machine to resume)"
  fi
  ls -la "$OUT"
elif [ "$stage" = long ]; then
  # Issue 14: the 1,000-identity prior trained on more images - batch LONG_BATCH (default 32, 4x the shipped file's 8;
  # at batch 8 the GPU waits on kernel launches) on a LONG_STEPS schedule (default 20,000), stopped by the time
  # budget; a later call on the same warm machine resumes it (PRIOR_ROOT, default tmp_gpu_prior, is git-ignored and
  # stays there). The real_proxy people for its encoder (`long_eval`) are rendered beside the training on the first
  # call. Returns the fp16 prior + curves (p1000_long_prior.tar) and the checkpoint in <= 15 MiB parts; on a fresh
  # machine, parts carried in as tmp_carry/p1000_long_checkpoint.part.* are joined and resumed.
  root=${PRIOR_ROOT:-tmp_gpu_prior} proxy=${PROXY_ROOT:-tmp_gpu_proxy}
  ck=$root/priors/p1000_long/checkpoint.safetensors
  if [ ! -f $ck ] && compgen -G "tmp_carry/p1000_long_checkpoint.part.*" > /dev/null; then
    mkdir -p "$(dirname $ck)"; cat tmp_carry/p1000_long_checkpoint.part.* > $ck
  fi
  data256 --root $root --identities 1000 --views 16 --workers 14 2>&1 | grep -E "images_per_second" | tail -1
  wait $build; tail -1 "$OUT/gsplat_build.log"
  if [ ! -f $proxy/synthetic/views.parquet ] || [ -f $proxy/plan_views.parquet ]; then
    data256 --root $proxy --domain real_proxy --start 20000 --identities 1000 \
        --views 6 --workers 8 --max-seconds $(( budget - SECONDS - 120 )) \
        > "$OUT/data_proxy.log" 2>&1 &
  fi
  python3 benchmarks/gpu_shipped_prior.py train --root $root --out "$OUT/long" --seconds $(( budget - SECONDS - 75 )) \
      --steps ${LONG_STEPS:-20000} --uv 128 --size 256 \
      --variant "$(variant_spec p1000_long 0 "batch_size=${LONG_BATCH:-32}")" > "$OUT/long_train.log" 2>&1
  wait; tail -qn1 "$OUT/data_proxy.log" 2>/dev/null
  grep -E "resumed|budget" $root/priors/p1000_long/train.log | tail -2
  mv "$OUT/long/priors.tar" "$OUT/p1000_long_prior.tar"; rm -rf "$OUT/long"
  split -b 15m $ck "$OUT/p1000_long_checkpoint.part."
  ls -la "$OUT"
elif [ "$stage" = long_eval ]; then
  # After `long` on the same machine: its encoder (proxy weight 8, as the shipped encoder) beside the held-out fits
  # (the 10 people and settings of `heldout`) of the long prior, the shipped file, the main job's prior
  # (tmp_carry/tiny_prior.safetensors) and no prior, all at this commit. Returns encoder_long.tar and the rows.
  root=${PRIOR_ROOT:-tmp_gpu_prior} proxy=${PROXY_ROOT:-tmp_gpu_proxy}
  prior=$root/priors/p1000_long/prior_fp16.safetensors
  wait $build; tail -1 "$OUT/gsplat_build.log"
  encoder_beside_fits long $prior $root/synthetic $proxy/synthetic --subjects 10 --size 256 --sheet-subjects 3 \
      --workers 12 --prior p1000_long=$prior --prior shipped=gasp_models/gasp_prior_uv128_1k.safetensors \
      --prior main_job=tmp_carry/tiny_prior.safetensors --prior none=
  ls -la "$OUT"
elif [ "$stage" = codereg ]; then
  # Issue 14: does a size penalty on the identity codes (PriorConfig.code_regulariser) make the 1,000-identity prior
  # guess new people better? Priors side by side on the shipped prior's data plan, differing only in that weight
  # (CODE_REGS, default "0 0.001 0.01"; 0 = the control), batch 32 on a CODEREG_STEPS schedule (default 4,000), all
  # stopped by the same time budget. Returns codereg.tar (fp16 priors, summaries, curves, log tails, data log) and
  # the checkpoints as codereg_checkpoints.tar.part.* (<= 15 MiB each); fit them with the `eval` stage.
  root=${PRIOR_ROOT:-tmp_gpu_prior}
  data256 --root $root --identities 1000 --views 16 \
      --workers 14 > "$OUT/data.log" 2>&1; grep -E "images_per_second" "$OUT/data.log" | tail -1
  wait $build; tail -1 "$OUT/gsplat_build.log"
  variants=() names=()
  for w in ${CODE_REGS:-0 0.001 0.01}; do
    n=code${w//./p}  # a weight of 0.001 -> code0p001 (names are file-safe keys)
    variants+=(--variant "$(variant_spec $n 0 "batch_size=32;code_regulariser=$w")"); names+=("$n")
  done
  python3 benchmarks/gpu_shipped_prior.py train --root $root --out "$OUT/codereg" --seconds $(( budget - SECONDS - 45 )) \
      --steps ${CODEREG_STEPS:-4000} --uv 128 --size 256 "${variants[@]}" > "$OUT/codereg_train.log" 2>&1
  for n in "${names[@]}"; do grep -E "resumed|budget" $root/priors/$n/train.log | tail -1; done
  tar cf "$OUT/codereg.tar" -C "$OUT" codereg/priors.tar data.log codereg_train.log gsplat_build.log device.txt
  rm -rf "$OUT/codereg" "$OUT"/*.log "$OUT/device.txt"
  tar cf - -C $root/priors $(for n in "${names[@]}"; do echo $n/checkpoint.safetensors; done) \
      | split -b 15m - "$OUT/codereg_checkpoints.tar.part."
  ls -la "$OUT"
elif [ "$stage" = views ]; then
  # Issue 14: views per identity at an equal number of images - VIEWS_A identities x 16 views (default 1,000, the
  # shipped plan) against half as many identities x 32 views (the first VIEWS_A / 2 of the same plan), two priors
  # trained side by side alike (batch 32, CODEREG_STEPS schedule, default 4,000, the same time budget). Returns
  # views.tar (fp16 priors, summaries, curves, log tails, data logs); fit them with the `eval` stage. Measured
  # (2026-12-03, `views 575`): data 99 + 62 s, both priors' 4,000 steps in 256 s (500 images/s each), 496 s in all.
  n=${VIEWS_A:-1000} half=$(( ${VIEWS_A:-1000} / 2 ))
  data_for views16 --identities $n --views 16
  data_for views32 --identities $half --views 32
  side_by_side views16 views32
elif [ "$stage" = lit ]; then
  # Issue 14: a key-lit photo's unseen side is in shade, and a prior trained under uniform white light (the paper's,
  # the file shipped until 2026-12-03) completes it with the lit side's colour (docs/heldout_lighting_sheet.png). Does a prior that has
  # seen shading do better? `lit`: the shipped plan's LIT_IDS identities x 16 views (default 1,000) in the domain
  # prior_lit (the same people and textures under the real_proxy key + fill light), trained alone as the `views`
  # stage's views16 prior (batch 32, CODEREG_STEPS schedule, default 4,000) - that prior is the flat control, carried
  # in as tmp_carry/views16.safetensors. The real_proxy people for its encoder are rendered beside the training; then
  # its encoder (proxy weight 8, as the shipped encoder; ENC_S seconds, default 150) beside held-out fits (the
  # gpu_heldout_fits.py arguments after the budget; the lit prior is tmp_lit/priors/lit/prior_fp16.safetensors).
  # Returns lit.tar (fp16 prior, summary, curves, logs), encoder_lit.tar and the fits' rows. A later `eval` call on
  # the same warm machine fits more people with the same files.
  shift 2
  proxy=${PROXY_ROOT:-tmp_gpu_proxy}
  data_for lit --identities ${LIT_IDS:-1000} --views 16 --domain prior_lit
  data256 --root $proxy --domain real_proxy --start 20000 --identities 1000 --views 6 --workers 6 \
      > tmp_lit_proxy_data.log 2>&1 &
  proxy_data=$!
  side_by_side lit
  wait $proxy_data 2>/dev/null  # side_by_side's own `wait` may have reaped it already
  tail -n1 tmp_lit_proxy_data.log
  encoder_beside_fits lit tmp_lit/priors/lit/prior_fp16.safetensors tmp_lit/synthetic $proxy/synthetic "$@"
  ls -la "$OUT"
elif [ "$stage" = eval ]; then
  # Held-out fits (benchmarks/gpu_heldout_fits.py arguments after the budget). Groups separated by a lone "--" run
  # one after another into the same rows file, e.g. "--prior a=A -- --set visibility_refine=false --prior a_off=A".
  wait $build; tail -1 "$OUT/gsplat_build.log"
  shift 2
  group=()
  run_group() {
    [ ${#group[@]} -gt 0 ] && python3 benchmarks/gpu_heldout_fits.py --out "$OUT" \
        --deadline $(( budget - SECONDS - 20 )) "${group[@]}"
    group=()
  }
  for arg in "$@"; do
    if [ "$arg" = "--" ]; then run_group; else group+=("$arg"); fi
  done
  run_group
fi
echo "wall $SECONDS s"
