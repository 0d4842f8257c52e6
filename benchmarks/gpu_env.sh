# Shared start of the GPU benchmark scripts (sourced, not run): on the GPU machine gsplat from the carried wheels
# (.whl/) into /tmp/site, its CUDA JIT build started in the background, PYTHONPATH and $OUT/device.txt; on a machine
# without nvidia-smi (a CPU smoke test) only PYTHONPATH and "no GPU".
# Needs PY, OUT and run (the run folder, for gsplat_build.log); sets build (the build's pid, empty on the CPU) and
# on_gpu (1 / 0). Wait for the build with: [ -n "$build" ] && wait $build
start_gpu_env() {
  build=
  if command -v nvidia-smi > /dev/null; then
    [ -d /tmp/site/gsplat ] || $PY -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site:$PWD
    $PY -c "from gsplat.cuda._backend import _C; print('gsplat', _C is not None)" > "$run/gsplat_build.log" 2>&1 &
    build=$!
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/device.txt"
    on_gpu=1
  else
    export PYTHONPATH=$PWD
    echo "no GPU" | tee "$OUT/device.txt" > "$run/gsplat_build.log"
    on_gpu=0
  fi
}
