"""Jobs.

``gasp_main`` materialises everything that runs on the embedded default (CPU, ``tiny`` preset), all identity
shards of the synthetic renders in one run (a single-run partition range), and the embedded capture demo (one
``real_proxy`` subject written in the NeRSemble v2 layout and preprocessed by the real readers), and the Gaussian
prior trained on the synthetic renders with its latent directions, and the three-stage fit of the embedded subject
from its frontal camera (``embedded_avatar_fit``). ``synthetic_data`` builds only the
synthetic prior dataset (use it with ``GASP_PRESET=paper`` on a GPU machine).
"""

from __future__ import annotations

import dagster as dg

from assets_defs.synthetic_assets import ALL_SHARDS_TAGS

MAIN_JOB = "gasp_main"

gasp_main = dg.define_asset_job(
    MAIN_JOB,
    selection=dg.AssetSelection.groups("head_model", "synthetic_data", "capture_demo", "prior", "fitting_demo"),
    tags=ALL_SHARDS_TAGS,
    description="The pipeline end to end on the configured preset (README's first command).",
)

synthetic_data = dg.define_asset_job(
    "synthetic_data",
    selection=dg.AssetSelection.groups("synthetic_data"),
    tags=ALL_SHARDS_TAGS,
    description="Synthetic prior dataset: identities, views, renders of every shard.",
)

avatar_fitting = dg.define_asset_job(
    "avatar_fitting",
    selection=dg.AssetSelection.groups("fitting"),
    description="Three-stage fit of one subject in one setting (partition subject|setting) and its renders.",
)
