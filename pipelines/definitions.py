"""The one ``Definitions`` of the project (workspace.yaml and pyproject's [tool.dagster] point here)."""

from __future__ import annotations

import dagster as dg

from assets_defs import (ablation_sweep_assets, capture_assets, comparison_assets, evaluation_assets,
                         fitting_assets, head_model_assets, prior_assets, synthetic_assets)
from assets_defs.resources import default_resources
from pipelines.evaluation_jobs import ablations, benchmark, benchmark_on_new_prior, benchmark_schedule
from pipelines.jobs import avatar_fitting, comparison, comparison_tables, gasp_main, synthetic_data
from pipelines.scale import SCALE_JOBS

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([head_model_assets, synthetic_assets, capture_assets, prior_assets, fitting_assets,
                                         evaluation_assets, ablation_sweep_assets, comparison_assets]),
    jobs=[gasp_main, synthetic_data, avatar_fitting, ablations, benchmark, comparison, comparison_tables, *SCALE_JOBS],
    schedules=[benchmark_schedule],
    sensors=[benchmark_on_new_prior],
    resources=default_resources(),
)
