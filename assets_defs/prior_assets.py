"""The Gaussian prior as assets: gaussian_prior (training, GASP §3.3) -> latent_directions (Appendix B).

Thin: Dagster config -> gasp_ops.prior -> files under data_root/<preset>/prior/.
"""

import json
from typing import Optional

import dagster as dg
import torch

from assets_defs.metadata import image_metadata
from assets_defs.resources import ComputeDevice, DataRoot, HeadModelResource, PipelinePreset, PriorSource
from assets_defs.step_tags import GPU_STEP_TAGS
from assets_defs.synthetic_assets import dataset_dir, synthetic_renders, synthetic_views
from gasp_ops.errors import GaspInputError
from gasp_ops.io.images import save_png
from gasp_ops.io.tables import read_parquet
from gasp_ops.io.tensors import save_tensors
from gasp_ops.prior.checkpoint import PRIOR_NAME, load_prior
from gasp_ops.prior.config import PriorConfig, default_config
from gasp_ops.prior.distributed import DistInfo
from gasp_ops.prior.run import open_training_views, train_from_dataset

GROUP = "prior"


class GaussianPriorConfig(dg.Config):
    """Unset fields take the preset's defaults (gasp_ops.prior.config.PRESET_DEFAULTS).

    n_subjects: first N identities (0 = all; the ablation uses 1/10/100/all). uv_resolution: UV map side (>= 2).
    steps, batch_size: optimiser steps and (subject, view) pairs per step. use_template: canonical template on/off.
    seed: initialisation, batch order and backgrounds. resume: continue from the checkpoint in the output folder.
    """

    n_subjects: Optional[int] = None
    uv_resolution: Optional[int] = None
    steps: Optional[int] = None
    batch_size: Optional[int] = None
    use_template: Optional[bool] = None
    seed: int = 0
    resume: bool = True


def prior_dir(data_root: DataRoot, preset_name: str):
    return data_root.path(preset_name, "prior", PRIOR_NAME).parent


def load_fit_prior(prior_source: PriorSource, data_root: DataRoot, preset_name: str, head, device):
    """(prior, metadata) the avatar fits use: the shipped prior or this job's ``gaussian_prior`` (``PriorSource``)."""
    from gasp_ops.prior.shipped import load_shipped_prior

    if prior_source.source == "shipped":
        prior, meta = load_shipped_prior(head, device)
        return prior, {**meta, "source": "shipped"}
    if prior_source.source == "job":
        prior, meta = load_prior(prior_dir(data_root, preset_name) / PRIOR_NAME, head, device)
        return prior, {**meta, "source": "job"}
    raise GaspInputError("prior_source.source", f"must be 'shipped' or 'job', got {prior_source.source!r}")


@dg.asset(group_name=GROUP, kinds={"safetensors", "markdown"})
def shipped_prior(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """The prior shipped with the project (``gasp_models/``): file checked against its pinned SHA-256; the
    metadata is its model card (data, config, steps, device, held-out figures, licence, intended use)."""
    from gasp_models import SHA256, model_card
    from gasp_ops.io.tensors import load_tensors
    from gasp_ops.prior.shipped import SHIPPED_PRIOR, shipped_prior_path

    try:
        path = shipped_prior_path()
    except GaspInputError as exc:
        raise dg.Failure(str(exc)) from None
    _, meta = load_tensors(path)
    return dg.MaterializeResult(metadata={
        "model_card": dg.MetadataValue.md(model_card(SHIPPED_PRIOR)), "path": dg.MetadataValue.path(str(path)),
        "sha256": SHA256[SHIPPED_PRIOR], "gaussians": int(meta["gaussians"]), "identities": int(meta["subjects"]),
        "uv_resolution": int(meta["config"]["uv_resolution"]), "steps": int(meta["steps"]),
        "bytes": path.stat().st_size})


def _check_renders_complete(root, views_table, identity_ids) -> None:
    from gasp_ops.synthetic.dataset_render import identity_complete

    if not (root / "manifests").is_dir():
        return  # an imported dataset: SyntheticDataset.open(check_files=True) has checked every file
    counts = views_table.groupby("identity_id").size()
    missing = [i for i in identity_ids if not identity_complete(root, i, int(counts.get(i, 0)))]
    if missing:
        raise GaspInputError("synthetic_renders", f"{len(missing)} of the prior's identities are not rendered "
                             f"(first: {missing[0]}); materialise every shard of synthetic_renders first")


@dg.asset(group_name=GROUP, kinds={"pytorch", "safetensors"}, op_tags=GPU_STEP_TAGS,
          deps=[synthetic_views, dg.AssetDep(synthetic_renders, partition_mapping=dg.AllPartitionMapping())])
def gaussian_prior(context: dg.AssetExecutionContext, config: GaussianPriorConfig, data_root: DataRoot,
                   preset: PipelinePreset, compute: ComputeDevice,
                   head_model: HeadModelResource) -> dg.MaterializeResult:
    """Canonical template + per-Gaussian features + identity auto-decoder trained on the synthetic renders."""
    p = preset.get()
    overrides = {k: getattr(config, k) for k in ("n_subjects", "uv_resolution", "steps", "batch_size", "use_template")
                 if getattr(config, k) is not None}
    cfg = default_config(p.name, seed=config.seed, **overrides)
    root = dataset_dir(data_root, p.name)
    views = open_training_views(root, cfg)
    _check_renders_complete(root, read_parquet(root / "views.parquet"), views.identity_ids)
    out = prior_dir(data_root, p.name)
    if not config.resume and (out / "checkpoint.safetensors").is_file():
        (out / "checkpoint.safetensors").unlink()
    device = compute.torch_device()
    head = head_model.build().to(device)
    summary = train_from_dataset(root, out, cfg, head, dist_info=DistInfo(device=device), log=context.log.info,
                                 progress=True, views=views)
    final = summary["final_losses"]
    metadata = {
        "gaussians": summary["gaussians"], "subjects": summary["subjects"], "steps": summary["steps"],
        "final_losses": dg.MetadataValue.json(final),
        "final_total_loss": float(final.get("total", float("nan"))),
        "heldout_psnr_decoded": summary["heldout"]["psnr_decoded"],
        "heldout_psnr_template": summary["heldout"]["psnr_template"],
        "lpips_used": summary["lpips_used"], "lpips_note": summary["lpips_reason"],
        "images_per_second": summary["images_per_second"],
        "config": dg.MetadataValue.json(json.loads(json.dumps(summary["config"]))),
        "path": dg.MetadataValue.path(summary["prior_path"]),
    }
    from pathlib import Path

    metadata.update(image_metadata(summary["curves_image"], Path(summary["curves_path"]), "loss_curves"))
    metadata.update(image_metadata(summary["grid_image"], Path(summary["grid_path"]), "decoded_vs_ground_truth"))
    return dg.MaterializeResult(metadata=metadata)


class LatentDirectionsConfig(dg.Config):
    """strengths: edit steps in units of the codes' spread along each direction (rows of the contact sheet)."""

    strengths: list[float] = [-3.0, -1.5, 0.0, 1.5, 3.0]
    subject: int = 0


@dg.asset(group_name=GROUP, kinds={"safetensors", "png"}, deps=[gaussian_prior])
def latent_directions(context: dg.AssetExecutionContext, config: LatentDirectionsConfig, data_root: DataRoot,
                      preset: PipelinePreset, compute: ComputeDevice,
                      head_model: HeadModelResource) -> dg.MaterializeResult:
    """Linear-SVM directions (age old, facial hair, long hair) in identity-code space and an edit contact sheet
    (columns: attribute, rows: -k .. +k applied to one training subject's code)."""
    from gasp_ops.prior.evaluate import render_views
    from gasp_ops.prior.latent_directions import edit_codes, fit_directions
    from gasp_ops.viz.contact_sheet import contact_sheet

    p = preset.get()
    device = compute.torch_device()
    head = head_model.build().to(device)
    out = prior_dir(data_root, p.name)
    model, meta = load_prior(out / PRIOR_NAME, head, device)
    root = dataset_dir(data_root, p.name)
    identities = read_parquet(root / "identities.parquet")
    ids = meta["identity_ids"]
    directions = fit_directions(model.codes.detach().cpu(), identities, ids)
    if not directions:
        raise GaspInputError("identities", "no attribute has both classes among the prior's subjects")
    cfg = PriorConfig.from_dict(meta["config"])
    views = open_training_views(root, cfg)
    subject = min(max(config.subject, 0), model.num_subjects - 1)
    view = int(torch.nonzero(views.subject == subject).flatten()[0])
    columns, names = [], []
    codes = model.codes.detach()
    for name, d in directions.items():
        spread = float((codes.cpu() @ d.direction).std().clamp_min(1e-6))
        edited = edit_codes(codes[subject], d.direction.to(codes.device), [k * spread for k in config.strengths])
        rgb, _ = render_views(model, views, torch.full((len(config.strengths),), view), head, codes=edited)
        columns.append([rgb[i].numpy() for i in range(len(config.strengths))])
        names.append(name)
    rows = [[col[r] for col in columns] for r in range(len(config.strengths))]
    sheet = contact_sheet(rows, row_labels=[f"{k:+g}" for k in config.strengths], col_labels=names)
    sheet_path = save_png(out / "latent_directions.png", sheet)
    info = {n: {"accuracy": d.accuracy, "positives": d.positives, "negatives": d.negatives} for n, d in directions.items()}
    path = save_tensors(out / "latent_directions.safetensors",
                        {f"direction.{n}": d.direction for n, d in directions.items()},
                        {"attributes": info, "identity_ids": ids, "strengths": list(config.strengths)})
    context.log.info(f"directions {info} -> {path}")
    return dg.MaterializeResult(metadata={
        "svm": dg.MetadataValue.json(info), "path": dg.MetadataValue.path(str(path)),
        **image_metadata(sheet, sheet_path, "edits")})
