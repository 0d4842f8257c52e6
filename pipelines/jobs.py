"""Jobs. ``gasp_main`` materialises everything that runs on the embedded default (CPU, ``tiny`` preset)."""

from __future__ import annotations

import dagster as dg

MAIN_JOB = "gasp_main"

gasp_main = dg.define_asset_job(
    MAIN_JOB,
    selection=dg.AssetSelection.groups("head_model"),
    description="The pipeline end to end on the configured preset (README's first command).",
)
