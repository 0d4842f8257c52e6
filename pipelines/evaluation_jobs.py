"""Evaluation jobs, schedule and sensor (GASP §6).

``ablations``: every Tab. 3 row in one run: the fitting ablations of the embedded subject, the prior-size sweep
(its own synthetic set, one prior per row) and the UV sweep (one prior per UV resolution), each row fitted and
scored on the held-out cameras, then Tab. 3 (needs the main prior, the synthetic set and the embedded capture
frames materialised, e.g. by ``gasp_main``). Rows are unpartitioned per-row assets (assets_defs/
ablation_sweep_assets.py), so the multiprocess executor runs independent rows side by side and
``dagster asset materialize -m pipelines.definitions --select 'ablation_prior_uv_512*'`` (re)runs one row and
the table. ``benchmark``: re-materialise the evaluation tables;
run nightly (cron ``$GASP_BENCHMARK_CRON``, default "0 3 * * *") and whenever ``gaussian_prior`` is
re-materialised.
"""

import os

import dagster as dg

from assets_defs.evaluation_assets import GROUP
from assets_defs.prior_assets import gaussian_prior

ABLATIONS_JOB = "ablations"
BENCHMARK_JOB = "benchmark"
DEFAULT_BENCHMARK_CRON = "0 3 * * *"
CRON_ENV = "GASP_BENCHMARK_CRON"

ablations = dg.define_asset_job(
    ABLATIONS_JOB, selection=dg.AssetSelection.groups(GROUP),
    description="Tab. 3: every ablation and prior-sweep row (a prior per sweep row) fitted to the embedded "
    "subject and scored on its held-out cameras.")

benchmark = dg.define_asset_job(
    BENCHMARK_JOB, selection=dg.AssetSelection.groups(GROUP),
    description="Re-materialise the evaluation tables (nightly and after a new prior).")


def benchmark_cron() -> str:
    return os.environ.get(CRON_ENV) or DEFAULT_BENCHMARK_CRON


def make_benchmark_schedule(cron: str | None = None) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(name="benchmark_nightly", job=benchmark, cron_schedule=cron or benchmark_cron(),
                                 default_status=dg.DefaultScheduleStatus.STOPPED)


benchmark_schedule = make_benchmark_schedule()


@dg.asset_sensor(asset_key=gaussian_prior.key, job=benchmark, name="benchmark_on_new_prior")
def benchmark_on_new_prior(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
    """A benchmark run per new ``gaussian_prior`` materialisation (run key = its run id + timestamp)."""
    yield dg.RunRequest(run_key=f"gaussian_prior:{asset_event.run_id or 'runless'}:{asset_event.timestamp}",
                        tags={"trigger": "gaussian_prior", "prior_run_id": asset_event.run_id})
