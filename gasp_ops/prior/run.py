"""Train a prior from a synthetic dataset folder and write its outputs (used by the Dagster asset and by
``gasp_ops.prior.launch`` under torchrun).

Outputs in ``out_dir``: checkpoint.safetensors (resumable), prior.safetensors (the trained prior + JSON metadata),
curves.png (loss curves), identities.png (training identities: ground truth / decoded / template), summary.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.io.atomic import write_text_atomic
from gasp_ops.io.images import save_png
from gasp_ops.prior.checkpoint import PRIOR_NAME, save_prior
from gasp_ops.prior.config import PriorConfig
from gasp_ops.prior.curves import plot_curves
from gasp_ops.prior.dataset_batches import PriorViews
from gasp_ops.prior.distributed import DistInfo, barrier
from gasp_ops.prior.evaluate import identity_grid, reconstruction_report
from gasp_ops.prior.trainer import train_prior


def open_training_views(dataset_root, config: PriorConfig) -> PriorViews:
    """Validate the dataset folder (tables + every file) and load the first ``n_subjects`` identities' views."""
    from gasp_ops.synthetic.dataset_reader import SyntheticDataset

    root = Path(dataset_root)
    if not (root / "views.parquet").is_file():
        raise GaspInputError(str(root), "no synthetic dataset here (views.parquet missing); render it first")
    dataset = SyntheticDataset.open(root, check_files=True)
    return PriorViews.from_synthetic(dataset, config.n_subjects, config.image_size, config.holdout_views)


def train_from_dataset(dataset_root, out_dir, config: PriorConfig, head: HeadModel, *,
                       dist_info: DistInfo | None = None, log: Callable[[str], None] | None = None,
                       progress: bool = True, views: PriorViews | None = None,
                       max_seconds: float | None = None, stop_at: int | None = None) -> dict:
    """Train (resuming from ``out_dir``'s checkpoint when present) and write the outputs; returns the summary.

    max_seconds: stop this call after that much training (checkpointed; the next call resumes). stop_at: end the
    run at that step of ``config.steps``' schedule (the learning-rate decay still spans ``config.steps``), to
    compare a prior with another one stopped there."""
    log = log or (lambda msg: None)
    config.validate()
    if stop_at is not None and (isinstance(stop_at, bool) or not isinstance(stop_at, int) or stop_at < 1):
        raise GaspInputError("stop_at", f"must be a step >= 1, got {stop_at!r}")
    views = views if views is not None else open_training_views(dataset_root, config)
    log(f"prior: {views.num_subjects} subjects, {int(views.train.sum())} training / {int((~views.train).sum())} "
        f"held-out views at {views.image_size[0]} px, UV {config.uv_resolution}")
    out = Path(out_dir)
    result = train_prior(config, views, head, out, dist_info=dist_info, log=log, progress=progress,
                         max_seconds=max_seconds, stop_at=stop_at)
    info = dist_info or DistInfo()
    summary: dict = {}
    if info.is_main:
        model = result.model.eval()
        report = reconstruction_report(model, views, head.to(model.features.device))
        final = {k: v[-1] for k, v in result.history.items() if v and k != "step"}
        summary = {
            "config": config.as_dict(), "head_model": getattr(head, "name", "head"), "gaussians": model.count,
            "subjects": views.num_subjects, "identity_ids": list(views.identity_ids), "steps": result.step,
            "final_losses": final, "heldout": report, "spatial_scale": result.spatial_scale,
            "lpips_used": result.lpips.available, "lpips_reason": result.lpips.reason,
            "train_seconds_this_run": result.seconds, "images_per_second": result.images_per_second,
        }
        save_prior(out / PRIOR_NAME, model, {**summary, "history": result.history})
        curves_path, curves = plot_curves(result.history, out / "curves.png")
        grid = identity_grid(model, views, head)
        grid_path = save_png(out / "identities.png", grid)
        write_text_atomic(out / "summary.json", json.dumps(summary, indent=1, default=str))
        summary.update({"curves_image": curves, "curves_path": str(curves_path), "grid_image": grid,
                        "grid_path": str(grid_path), "prior_path": str(out / PRIOR_NAME)})
    barrier(info)
    return summary
