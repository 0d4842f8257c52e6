"""Evaluation as assets (GASP §6, Tab. 3): ablation fits of the embedded capture subject -> metric rows -> table.

Thin: Dagster config -> gasp_ops.fitting + evaluation.* -> files under data_root/<preset>/evaluation/.
``ablation_metrics`` fits the embedded ``real_proxy`` subject ('900' frame table) in the monocular setting with
every Tab. 3 variant the fitting code supports and scores each on the frame table's held-out cameras. The
prior-size / UV sweep rows and ``ablation_table`` (Tab. 3 from all of them) are in ``ablation_sweep_assets``.
"""

import json
from typing import Optional

import dagster as dg

from assets_defs.capture_assets import REAL_PROXY_ID, embedded_capture_frames
from assets_defs.fit_budget_config import FitBudgetConfig
from assets_defs.fitting_assets import frame_table_path
from assets_defs.prior_assets import gaussian_prior, load_fit_prior, prior_dir, shipped_prior
from assets_defs.resources import ComputeDevice, DataRoot, HeadModelResource, PipelinePreset, PriorSource
from assets_defs.step_tags import GPU_STEP_TAGS

GROUP = "evaluation"
SETTING = "monocular"


def evaluation_dir(data_root: DataRoot, preset_name: str):
    return data_root.path(preset_name, "evaluation", "x").parent


class AblationMetricsConfig(FitBudgetConfig):
    """ablations: the Tab. 3 variants to fit (default: every one gasp_ops.fitting supports). uv_resolution: UV
    binding of the no-prior variant (default the trained prior's, so both variants have the same Gaussians)."""

    ablations: list[str] = ["full", "no_prior", "no_regulariser", "no_stage1", "no_stage2", "no_stage3"]
    uv_resolution: Optional[int] = None


def subject_frames(data_root: DataRoot, preset_name: str, image_size: int, max_train_frames: Optional[int],
                   max_eval_frames: int):
    """(training FitInputs in the monocular setting, held-out FitInputs) of the embedded subject's frame table."""
    from evaluation.avatar_eval import heldout_table
    from gasp_ops.fitting import from_frame_table
    from gasp_ops.io.tables import read_parquet

    table_path = frame_table_path(data_root, preset_name, str(REAL_PROXY_ID))
    table = read_parquet(table_path)
    select = {"max_frames": max_train_frames} if max_train_frames else {}
    train = from_frame_table(table, table_path.parent, setting=SETTING, image_size=image_size, **select)
    held = heldout_table(table, SETTING).head(max_eval_frames)
    return train, from_frame_table(held, table_path.parent, image_size=image_size)


def main_prior_info(data_root: DataRoot, preset_name: str) -> dict:
    """Tab. 3 info columns of the main prior (identities, UV, Gaussians, steps) from its summary.json."""
    path = prior_dir(data_root, preset_name) / "summary.json"
    if not path.is_file():
        return {}
    summary = json.loads(path.read_text())
    return {"prior_subjects": summary.get("subjects"), "uv_resolution": summary.get("config", {}).get("uv_resolution"),
            "gaussians": summary.get("gaussians"), "prior_steps": summary.get("steps")}


@dg.asset(group_name=GROUP, deps=[gaussian_prior, shipped_prior, embedded_capture_frames], kinds={"pytorch", "parquet"},
          op_tags={**GPU_STEP_TAGS, "dagster/priority": "5"})
def ablation_metrics(context: dg.AssetExecutionContext, config: AblationMetricsConfig, data_root: DataRoot,
                     preset: PipelinePreset, compute: ComputeDevice,
                     head_model: HeadModelResource, prior_source: PriorSource) -> dg.MaterializeResult:
    """Per-frame metric rows (subject, setting, method, camera, frame, metric, value, backend) of every ablation
    fit of the embedded subject on its held-out cameras -> evaluation/ablation_metrics.parquet (+ .json: the
    prior's identities / UV / Gaussians / steps and the fit's stage steps, for Tab. 3's info columns)."""
    import pandas as pd

    from evaluation.ablation_sweep import fit_and_score
    from evaluation.identity import face_embedder
    from evaluation.metrics import ROW_COLUMNS, write_metric_rows
    from gasp_ops.errors import GaspInputError
    from gasp_ops.fitting import default_fit_config
    from gasp_ops.io.atomic import write_text_atomic

    p = preset.get()
    subject = str(REAL_PROXY_ID)
    overrides = {k: getattr(config, k) for k in ("steps_inversion", "steps_decoder", "steps_refine")
                 if getattr(config, k) is not None}
    device = compute.torch_device()
    size = config.image_size or p.image_size
    try:
        train, evals = subject_frames(data_root, p.name, size, config.max_train_frames, config.max_eval_frames)
        head = head_model.build().to(device)
        prior, prior_meta = load_fit_prior(prior_source, data_root, p.name, head, device)
        # The no-prior variant binds as many Gaussians as the prior has, so the comparison isolates the prior.
        uv = config.uv_resolution or int(prior_meta["config"]["uv_resolution"])
        embedder = face_embedder()[0] if "id_sim" in config.metrics else None
        parts, seconds = [], {}
        for ablation in config.ablations:
            cfg = default_fit_config(p.name, ablation, seed=config.seed, **overrides)
            context.log.info(f"ablation {ablation}: fitting {len(train)} frames")
            rows, secs = fit_and_score(prior, head, train, evals, cfg, uv_resolution=uv, subject=subject,
                                       setting=SETTING, method=ablation, metrics=config.metrics, embedder=embedder,
                                       device=device, log=context.log.info)
            seconds[ablation] = round(secs, 2)
            parts.append(rows)
    except GaspInputError as exc:
        raise dg.Failure(str(exc)) from None
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=ROW_COLUMNS)
    out = write_metric_rows(evaluation_dir(data_root, p.name) / "ablation_metrics.parquet", rows)
    cfg = default_fit_config(p.name, "full", **overrides)
    shipped = prior_meta.get("source") == "shipped"
    prior_info = {"prior_subjects": prior_meta.get("subjects"), "gaussians": prior_meta.get("gaussians"),
                  "prior_steps": prior_meta.get("steps"), "prior_source": "shipped"} if shipped \
        else {**main_prior_info(data_root, p.name), "prior_source": "job"}
    info = {**prior_info, "uv_resolution": uv,
            "fit_steps": f"{cfg.steps_inversion}/{cfg.steps_decoder}/{cfg.steps_refine}",
            "fit_seconds": seconds}
    write_text_atomic(out.with_suffix(".json"), json.dumps(info, indent=1))
    psnr = rows[rows.metric == "psnr"].groupby("method").value.mean().round(3).to_dict()
    return dg.MaterializeResult(metadata={
        "rows": len(rows), "ablations": dg.MetadataValue.json(list(config.ablations)),
        "train_frames": len(train), "eval_frames": len(evals), "fit_seconds": dg.MetadataValue.json(seconds),
        "psnr_mean": dg.MetadataValue.json(psnr), "path": dg.MetadataValue.path(str(out))})
