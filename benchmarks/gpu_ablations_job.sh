#!/usr/bin/env bash
# The `ablations` Dagster job (every Tab. 3 row, tiny preset) on the GPU device; see gpu_dagster_run.sh for what
# must travel with the checkout. Outputs $OUT/table3.md, table3.parquet and the log.
exec bash benchmarks/gpu_dagster_run.sh python3 -m dagster job execute -m pipelines.definitions -j ablations
