"""Synthetic prior dataset as assets: identities -> views (plan) -> renders (partitioned by identity shard)."""

import json

import dagster as dg
import numpy as np
import pandas as pd

from assets_defs.metadata import image_metadata
from assets_defs.resources import ComputeDevice, DataRoot, HeadModelResource, PipelinePreset
from assets_defs.step_tags import GPU_STEP_TAGS
from gasp_ops.io.images import save_png
from gasp_ops.io.tables import read_parquet, write_parquet
from gasp_ops.synthetic.dataset_plan import identity_table, plan_identities, plan_views
from gasp_ops.synthetic.dataset_preview import dataset_contact_sheet
from gasp_ops.synthetic.dataset_render import render_identity, shard_of

GROUP = "synthetic_data"
NUM_SHARDS = 16
shard_partitions = dg.StaticPartitionsDefinition([f"shard_{i:02d}" for i in range(NUM_SHARDS)])
ALL_SHARDS_TAGS = {"dagster/asset_partition_range_start": "shard_00",
                   "dagster/asset_partition_range_end": f"shard_{NUM_SHARDS - 1:02d}"}
AZIMUTH_RANGE = (-180.0, 180.0)
ELEVATION_RANGE = (-20.0, 45.0)


class SyntheticConfig(dg.Config):
    """seed: every random draw of the dataset derives from it (same seed -> byte-identical images)."""

    seed: int = 0


def dataset_dir(data_root: DataRoot, preset_name: str):
    return data_root.path(preset_name, "synthetic", "identities.parquet").parent


@dg.asset(group_name=GROUP, kinds={"parquet"})
def synthetic_identities(context: dg.AssetExecutionContext, config: SyntheticConfig, data_root: DataRoot,
                         preset: PipelinePreset, head_model: HeadModelResource) -> dg.MaterializeResult:
    """Random synthetic people (shape coefficients, appearance, metadata labels) -> identities.parquet."""
    p = preset.get()
    head = head_model.build()
    frame = identity_table(plan_identities(p.synthetic_identities, config.seed, head), head)
    path = write_parquet(dataset_dir(data_root, p.name) / "identities.parquet", frame)
    summary = {c: frame[c].value_counts().to_dict() for c in ("age_group", "hairstyle", "hair_colour", "eye_colour",
                                                               "facial_hair", "long_hair") if c in frame}
    context.log.info(f"{len(frame)} identities -> {path}")
    return dg.MaterializeResult(metadata={
        "num_identities": len(frame), "path": dg.MetadataValue.path(str(path)),
        "attribute_counts": dg.MetadataValue.json(json.loads(json.dumps(summary, default=str))),
        "preview": dg.MetadataValue.md(frame.drop(columns=["identity_coeffs", "appearance_json"]).head(16)
                                       .to_markdown(index=False)),
    })


@dg.asset(group_name=GROUP, kinds={"parquet"}, deps=[synthetic_identities], check_specs=[
    dg.AssetCheckSpec("cameras_valid", asset="synthetic_views",
                      description="rigid world->camera, positive focal lengths, head in front, az/el in range"),
    dg.AssetCheckSpec("no_nan", asset="synthetic_views", description="no NaN/Inf in any numeric field"),
])
def synthetic_views(context: dg.AssetExecutionContext, data_root: DataRoot, preset: PipelinePreset,
                    head_model: HeadModelResource):
    """Per view: camera (uniform az [-180, 180], el [-20, 45]), expression, pose, file paths -> views.parquet."""
    p = preset.get()
    head = head_model.build()
    root = dataset_dir(data_root, p.name)
    identities = read_parquet(root / "identities.parquet")
    seed = int(identities.seed.iloc[0])
    views = plan_views(identities, p.synthetic_views, seed, head, p.synthetic_image_size)
    path = write_parquet(root / "views.parquet", views)
    context.log.info(f"{len(views)} views -> {path}")
    yield dg.MaterializeResult(metadata={"num_views": len(views), "path": dg.MetadataValue.path(str(path))})
    yield camera_check(views)
    numeric = np.concatenate([np.concatenate([np.asarray(v, np.float64).ravel() for v in views[c]])
                              for c in ("K", "world_to_cam", "expression", "rotation", "translation", "neck", "jaw", "eyes")])
    yield dg.AssetCheckResult(check_name="no_nan", passed=bool(np.isfinite(numeric).all()),
                              metadata={"values_checked": int(numeric.size)})


def camera_check(views: pd.DataFrame) -> dg.AssetCheckResult:
    w2c = np.stack([np.asarray(v, np.float64).reshape(4, 4) for v in views.world_to_cam])
    K = np.stack([np.asarray(v, np.float64).reshape(3, 3) for v in views.K])
    R = w2c[:, :3, :3]
    orth = np.abs(R @ R.transpose(0, 2, 1) - np.eye(3)).max()
    det = np.linalg.det(R)
    origin_z = w2c[:, 2, 3]  # camera-space z of the world origin (the head): must be in front
    az, el = views.azimuth_deg.to_numpy(), views.elevation_deg.to_numpy()
    passed = bool(orth < 1e-4 and np.allclose(det, 1.0, atol=1e-4) and (K[:, 0, 0] > 0).all()
                  and (K[:, 1, 1] > 0).all() and (origin_z > 0).all()
                  and AZIMUTH_RANGE[0] <= az.min() and az.max() <= AZIMUTH_RANGE[1]
                  and ELEVATION_RANGE[0] <= el.min() and el.max() <= ELEVATION_RANGE[1])
    return dg.AssetCheckResult(check_name="cameras_valid", passed=passed, metadata={
        "max_orthonormality_error": float(orth), "min_focal": float(K[:, :2, :2].diagonal(axis1=1, axis2=2).min()),
        "azimuth_range": [float(az.min()), float(az.max())], "elevation_range": [float(el.min()), float(el.max())]})


@dg.asset(group_name=GROUP, kinds={"pytorch", "png"}, deps=[synthetic_views], partitions_def=shard_partitions,
          op_tags=GPU_STEP_TAGS,
          backfill_policy=dg.BackfillPolicy.single_run(), check_specs=[
              dg.AssetCheckSpec("masks_non_empty", asset="synthetic_renders",
                                description="every rendered view shows the person (mask coverage >= 2%)"),
          ])
def synthetic_renders(context: dg.AssetExecutionContext, data_root: DataRoot, preset: PipelinePreset,
                      compute: ComputeDevice, head_model: HeadModelResource):
    """RGB, alpha mask and exact face-id map for every view of the identities in the selected shards.

    Identity i belongs to shard i % 16. Complete identities (manifest present, files present) are skipped, so a
    failed or interrupted shard resumes where it stopped; shards never touch each other's files.
    """
    p = preset.get()
    head = head_model.build()
    root = dataset_dir(data_root, p.name)
    identities = read_parquet(root / "identities.parquet")
    views = read_parquet(root / "views.parquet")
    shards = sorted(int(k.split("_")[1]) for k in context.partition_keys)
    mine = identities[[shard_of(i, NUM_SHARDS) in shards for i in identities["index"]]]
    device = compute.torch_device()
    rendered = skipped = written = 0
    coverage: list[float] = []
    for n, row in enumerate(mine.itertuples(index=False)):
        result = render_identity(root, row, views[views.identity_id == row.identity_id], head, p.texture_size,
                                 p.supersample, device=device)
        skipped += result.skipped
        rendered += 0 if result.skipped else result.num_views
        written += result.bytes_written
        coverage += result.mask_coverage
        context.log.info(f"[{n + 1}/{len(mine)}] {row.identity_id}: {'complete, skipped' if result.skipped else 'rendered'}")
    metadata = {"shards": dg.MetadataValue.json(shards), "identities": len(mine), "identities_skipped": skipped,
                "views_rendered": rendered, "bytes_written": written}
    sample = list(mine.identity_id[:16])
    if sample:
        sheet = dataset_contact_sheet(root, views, sample)
        path = save_png(root / "contact_sheets" / f"shards_{shards[0]:02d}-{shards[-1]:02d}.png", sheet)
        metadata.update(image_metadata(sheet, path, "contact_sheet"))
    yield dg.MaterializeResult(metadata=metadata)
    min_cov = min(coverage) if coverage else None
    yield dg.AssetCheckResult(check_name="masks_non_empty", passed=min_cov is None or min_cov >= 0.02,
                              metadata={"min_mask_coverage": min_cov, "views_checked": len(coverage)})
