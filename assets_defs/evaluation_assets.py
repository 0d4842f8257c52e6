"""Evaluation as assets (GASP §6, Tab. 3): ablation fits of the embedded capture subject -> metric rows -> table.

Thin: Dagster config -> gasp_ops.fitting + evaluation.* -> files under data_root/<preset>/evaluation/.
``ablation_metrics`` fits the embedded ``real_proxy`` subject ('900' frame table) in the monocular setting with
every Tab. 3 variant the fitting code supports and scores each on the frame table's held-out cameras;
``ablation_table`` aggregates them into Tab. 3 (Parquet + Markdown + one bar chart per metric).
"""

from typing import Optional

import dagster as dg

from assets_defs.capture_assets import REAL_PROXY_ID, embedded_capture_frames
from assets_defs.fitting_assets import frame_table_path
from assets_defs.prior_assets import gaussian_prior, prior_dir
from assets_defs.resources import ComputeDevice, DataRoot, HeadModelResource, PipelinePreset

GROUP = "evaluation"
SETTING = "monocular"
#: Tab. 3 rows that need a separately trained prior each; not run by this asset.
NOT_RUN_REASON = ("needs a separately trained prior per row (prior-size / UV-resolution sweep); not run at the "
                  "tiny scale by this job")


def evaluation_dir(data_root: DataRoot, preset_name: str):
    return data_root.path(preset_name, "evaluation", "x").parent


class AblationMetricsConfig(dg.Config):
    """ablations: the Tab. 3 variants to fit (default: every one gasp_ops.fitting supports).
    steps_*: override the preset's stage lengths. image_size: resize frames. max_train_frames / max_eval_frames:
    cap the frames. uv_resolution: UV binding of the no-prior variant (default
    the trained prior's, so both variants have the same Gaussians). metrics: which of psnr, ssim, lpips, fid, id_sim to compute."""

    ablations: list[str] = ["full", "no_prior", "no_regulariser", "no_stage1", "no_stage2", "no_stage3"]
    steps_inversion: Optional[int] = None
    steps_decoder: Optional[int] = None
    steps_refine: Optional[int] = None
    image_size: Optional[int] = None
    max_train_frames: Optional[int] = None
    max_eval_frames: int = 16
    metrics: list[str] = ["psnr", "ssim", "lpips", "fid", "id_sim"]
    uv_resolution: Optional[int] = None
    seed: int = 0


@dg.asset(group_name=GROUP, deps=[gaussian_prior, embedded_capture_frames], kinds={"pytorch", "parquet"})
def ablation_metrics(context: dg.AssetExecutionContext, config: AblationMetricsConfig, data_root: DataRoot,
                     preset: PipelinePreset, compute: ComputeDevice,
                     head_model: HeadModelResource) -> dg.MaterializeResult:
    """Per-frame metric rows (subject, setting, method, camera, frame, metric, value, backend) of every ablation
    fit of the embedded subject on its held-out cameras -> evaluation/ablation_metrics.parquet."""
    import pandas as pd

    from evaluation.avatar_eval import evaluate_avatar, heldout_table
    from evaluation.identity import face_embedder
    from evaluation.metrics import ROW_COLUMNS, write_metric_rows
    from gasp_ops.errors import GaspInputError
    from gasp_ops.fitting import default_fit_config, fit_avatar, from_frame_table
    from gasp_ops.io.tables import read_parquet
    from gasp_ops.prior.checkpoint import PRIOR_NAME, load_prior

    p = preset.get()
    subject = str(REAL_PROXY_ID)
    overrides = {k: getattr(config, k) for k in ("steps_inversion", "steps_decoder", "steps_refine")
                 if getattr(config, k) is not None}
    device = compute.torch_device()
    size = config.image_size or p.image_size
    try:
        table_path = frame_table_path(data_root, p.name, subject)
        table = read_parquet(table_path)
        select = {"max_frames": config.max_train_frames} if config.max_train_frames else {}
        train = from_frame_table(table, table_path.parent, setting=SETTING, image_size=size, **select)
        held = heldout_table(table, SETTING).head(config.max_eval_frames)
        evals = from_frame_table(held, table_path.parent, image_size=size)
        head = head_model.build().to(device)
        prior, prior_meta = load_prior(prior_dir(data_root, p.name) / PRIOR_NAME, head, device)
        # The no-prior variant binds as many Gaussians as the prior has, so the comparison isolates the prior.
        uv = config.uv_resolution or int(prior_meta["config"]["uv_resolution"])
        embedder = face_embedder()[0] if "id_sim" in config.metrics else None
        parts, seconds = [], {}
        for ablation in config.ablations:
            cfg = default_fit_config(p.name, ablation, seed=config.seed, **overrides)
            context.log.info(f"ablation {ablation}: fitting {len(train)} frames")
            result = fit_avatar(prior if cfg.use_prior else None, head, train, cfg, device=device,
                                log=context.log.info, uv_resolution=uv)
            seconds[ablation] = round(float(sum(result.seconds.values())), 2)
            rows, _ = evaluate_avatar(result.avatar, train.identity, head, evals, subject=subject, setting=SETTING,
                                      method=ablation, metrics=tuple(config.metrics), embedder=embedder,
                                      device=device)
            parts.append(rows)
    except GaspInputError as exc:
        raise dg.Failure(str(exc)) from None
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=ROW_COLUMNS)
    out = write_metric_rows(evaluation_dir(data_root, p.name) / "ablation_metrics.parquet", rows)
    psnr = rows[rows.metric == "psnr"].groupby("method").value.mean().round(3).to_dict()
    return dg.MaterializeResult(metadata={
        "rows": len(rows), "ablations": dg.MetadataValue.json(list(config.ablations)),
        "train_frames": len(train), "eval_frames": len(evals), "fit_seconds": dg.MetadataValue.json(seconds),
        "psnr_mean": dg.MetadataValue.json(psnr), "path": dg.MetadataValue.path(str(out))})


@dg.asset(group_name=GROUP, deps=[ablation_metrics], kinds={"parquet", "markdown", "png"})
def ablation_table(context: dg.AssetExecutionContext, data_root: DataRoot,
                   preset: PipelinePreset) -> dg.MaterializeResult:
    """GASP Tab. 3 (PSNR, SSIM, LPIPS, FID, ID-SIM per ablation; prior-size / UV rows listed as not run) ->
    evaluation/table3.{parquet,md} + table3_<metric>.png."""
    from evaluation.tables import TABLE3_PRIOR_ROWS, table3, write_table
    from gasp_ops.io.tables import read_parquet

    p = preset.get()
    folder = evaluation_dir(data_root, p.name)
    rows = read_parquet(folder / "ablation_metrics.parquet")
    df = table3(rows, not_run={r: NOT_RUN_REASON for r in TABLE3_PRIOR_ROWS})
    paths = write_table(df, folder, "table3", ["variant"], "Table 3: ablations (tiny preset, embedded subject)")
    return dg.MaterializeResult(metadata={
        "variants": len(df), "run": int((df.status == "run").sum()),
        "table": dg.MetadataValue.md(paths["markdown"].read_text()),
        "path": dg.MetadataValue.path(str(paths["parquet"]))})
