"""Jobs.

``gasp_main`` materialises everything that runs on the embedded default (CPU, ``tiny`` preset), all identity
shards of the synthetic renders in one run (a single-run partition range), and the embedded capture demo (one
``real_proxy`` subject written in the NeRSemble v2 layout and preprocessed by the real readers), and the Gaussian
prior trained on the synthetic renders with its latent directions, and the three-stage fit of the embedded subject
from its frontal camera (``embedded_avatar_fit``), and Tab. 1 (GASP vs the gaussian_avatars- and flash_avatar-style
baselines on two ``real_proxy`` subjects, monocular and single image: group ``comparison``). ``comparison``
(partitioned subject x setting) and ``comparison_tables`` (Tab. 2) run the comparison on any subject.
``synthetic_data`` builds only the
synthetic prior dataset (use it with ``GASP_PRESET=paper`` on a GPU machine).
"""

from __future__ import annotations

import dagster as dg

from assets_defs.synthetic_assets import ALL_SHARDS_TAGS

MAIN_JOB = "gasp_main"

#: The main job's executor: Dagster's multiprocess executor (one process per step, side by side), its step processes
#: forked from a server that has already imported the code location and torch. With the default spawn every one of
#: the job's ~20 steps starts a fresh interpreter and imports dagster, torch and the project first, 6-10 s of CPU each
#: on the 2-core machine (the gaps between steps in the run's log).
FORKSERVER_EXECUTOR = dg.multiprocess_executor.configured(
    {"start_method": {"forkserver": {"preload_modules": ["pipelines.definitions", "torch", "gasp_ops.fitting"]}}},
    name="multiprocess_forkserver")

gasp_main = dg.define_asset_job(
    MAIN_JOB,
    selection=dg.AssetSelection.groups("head_model", "synthetic_data", "capture_demo", "prior", "fitting_demo",
                                       "comparison"),
    tags=ALL_SHARDS_TAGS,
    executor_def=FORKSERVER_EXECUTOR,
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

comparison = dg.define_asset_job(
    "comparison",
    selection=dg.AssetSelection.assets("comparison_metrics"),
    description="GASP vs the baselines for one subject x setting (partition subject|setting); backfill it over many "
                "subjects with the multiprocess executor: partitions fail independently.",
)

comparison_tables = dg.define_asset_job(
    "comparison_tables",
    selection=dg.AssetSelection.assets("comparison_table2"),
    description="Tab. 2 (multi-camera) from every comparison_metrics multi_camera partition on disk.",
)
