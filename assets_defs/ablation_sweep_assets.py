"""Tab. 3's prior sweeps as assets (GASP §6.5, Appendix G) and the table itself.

One unpartitioned pair of assets per sweep row (``evaluation.ablation_sweep.SWEEP_ROWS``), made by a factory:
``ablation_prior_<row>`` (a prior trained on the row's identities / UV resolution -> evaluation/sweep/<row>/prior/)
-> ``ablation_row_<row>`` (the embedded subject fitted with that prior and scored on its held-out cameras ->
evaluation/sweep/<row>/metrics.parquet + status.json). Unpartitioned per-row assets (rather than one static-
partitioned asset) let ``dagster job execute -j ablations`` run every row in one run, the multiprocess executor
run independent rows side by side, and each row be re-materialised, fail and resume on its own (the prior
checkpoint resumes). ``ablation_sweep_dataset`` renders the subject sweep's larger, cheaper synthetic set.
``ablation_table`` aggregates ``ablation_metrics`` and every row into Tab. 3 (status run / failed: reason /
not run: not materialised); when a row fails the job skips the table, and materialising ``ablation_table`` alone
afterwards writes the table with the failure's reason.
"""

import json

import dagster as dg

from assets_defs.capture_assets import REAL_PROXY_ID, embedded_capture_frames
from assets_defs.evaluation_assets import (GROUP, SETTING, ablation_metrics, evaluation_dir, main_prior_info,
                                           subject_frames)
from assets_defs.resources import ComputeDevice, DataRoot, HeadModelResource, PipelinePreset
from assets_defs.step_tags import GPU_STEP_TAGS
from assets_defs.synthetic_assets import dataset_dir, synthetic_renders, synthetic_views
from evaluation.ablation_sweep import (MAIN_DATASET, SWEEP_ROWS, SweepDataset, SweepRow, SweepSettings,
                                       prior_overrides)

_DATASET = SweepDataset()
_SETTINGS = SweepSettings()
#: Executor order (higher first): the sweep set (it gates four rows), then ``ablation_metrics`` (priority 5)
#: and the cheap rows, the heaviest rows
#: (UV 256 / 512: ~40k / ~158k Gaussians through the decoder) last, so on a busy CPU most rows finish first.
PRIORITY = {"dataset": 10, "uv_256": -5, "uv_512": -10}


def sweep_dir(data_root: DataRoot, preset_name: str):
    return evaluation_dir(data_root, preset_name) / "sweep"


def sweep_dataset_dir(data_root: DataRoot, preset_name: str):
    return sweep_dir(data_root, preset_name) / "synthetic"


def row_dir(data_root: DataRoot, preset_name: str, key: str):
    return sweep_dir(data_root, preset_name) / key


def _tags(key: str) -> dict:
    return {**GPU_STEP_TAGS, "dagster/priority": str(PRIORITY.get(key, 0))}


def _write_status(folder, status: str, **info) -> None:
    from gasp_ops.io.atomic import write_text_atomic

    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(folder / "status.json", json.dumps({"status": status, **info}, indent=1, default=str))


def _fail(folder, stage: str, exc: Exception) -> dg.Failure:
    reason = f"{stage}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    _write_status(folder, "failed", reason=reason)
    return dg.Failure(reason)


class SweepDatasetConfig(dg.Config):
    """The subject sweep's synthetic set (evaluation.ablation_sweep.SweepDataset): identities (>= 100 for the
    '100' row), views per identity (the last is held out), image_size, texture_size, supersample, seed."""

    identities: int = _DATASET.identities
    views: int = _DATASET.views
    image_size: int = _DATASET.image_size
    texture_size: int = _DATASET.texture_size
    supersample: int = _DATASET.supersample
    seed: int = _DATASET.seed


@dg.asset(group_name=GROUP, kinds={"parquet", "png"}, op_tags=_tags("dataset"))
def ablation_sweep_dataset(context: dg.AssetExecutionContext, config: SweepDatasetConfig, data_root: DataRoot,
                           preset: PipelinePreset, compute: ComputeDevice,
                           head_model: HeadModelResource) -> dg.MaterializeResult:
    """Synthetic identities for the prior-size sweep, in the dataset schema of docs/synthetic_dataset.md ->
    evaluation/sweep/synthetic/ (resumable: complete identities are skipped)."""
    from gasp_ops.io.tables import write_parquet
    from gasp_ops.synthetic.dataset_plan import identity_table, plan_identities, plan_views
    from gasp_ops.synthetic.dataset_render import render_identity

    p = preset.get()
    head = head_model.build()
    root = sweep_dataset_dir(data_root, p.name)
    identities = identity_table(plan_identities(config.identities, config.seed, head), head)
    views = plan_views(identities, config.views, config.seed, head, config.image_size)
    write_parquet(root / "identities.parquet", identities)
    write_parquet(root / "views.parquet", views)
    device = compute.torch_device()
    rendered = 0
    for n, row in enumerate(identities.itertuples(index=False)):
        result = render_identity(root, row, views[views.identity_id == row.identity_id], head, config.texture_size,
                                 config.supersample, device=device)
        rendered += 0 if result.skipped else 1
        if (n + 1) % 16 == 0 or n + 1 == len(identities):
            context.log.info(f"sweep dataset: {n + 1}/{len(identities)} identities ({rendered} rendered now)")
    return dg.MaterializeResult(metadata={
        "identities": len(identities), "views": len(views), "rendered_now": rendered,
        "image_size": config.image_size, "path": dg.MetadataValue.path(str(root))})


class SweepPriorConfig(dg.Config):
    """prior_steps / prior_batch_size: keep them equal across rows (defaults: SweepSettings) so rows compare.
    seed: the prior's seed. resume: continue from the row's checkpoint."""

    prior_steps: int = _SETTINGS.prior_steps
    prior_batch_size: int = _SETTINGS.prior_batch_size
    seed: int = 0
    resume: bool = True


class SweepRowConfig(dg.Config):
    """The fit of a sweep row ("full" ablation): stage steps, frames fitted / scored, metrics, seed."""

    steps_inversion: int = _SETTINGS.steps_inversion
    steps_decoder: int = _SETTINGS.steps_decoder
    steps_refine: int = _SETTINGS.steps_refine
    max_train_frames: int = _SETTINGS.max_train_frames
    max_eval_frames: int = _SETTINGS.max_eval_frames
    image_size: int = 0
    metrics: list[str] = ["psnr", "ssim", "lpips", "fid", "id_sim"]
    seed: int = 0


def make_sweep_row_assets(row: SweepRow) -> tuple[dg.AssetsDefinition, dg.AssetsDefinition]:
    """(ablation_prior_<row>, ablation_row_<row>) for one sweep row."""
    if row.dataset == MAIN_DATASET:
        data_deps = [synthetic_views, dg.AssetDep(synthetic_renders, partition_mapping=dg.AllPartitionMapping())]
    else:
        data_deps = [ablation_sweep_dataset]

    @dg.asset(name=f"ablation_prior_{row.key}", group_name=GROUP, deps=data_deps, kinds={"pytorch", "safetensors"},
              op_tags=_tags(row.key), description=f"Tab. 3 '{row.label}': a prior trained for this row only "
              f"(identities: {row.n_subjects or 'all'} of the {row.dataset} synthetic set, UV "
              f"{row.uv_resolution or 'of the preset'}) -> evaluation/sweep/{row.key}/prior/.")
    def _prior(context: dg.AssetExecutionContext, config: SweepPriorConfig, data_root: DataRoot,
               preset: PipelinePreset, compute: ComputeDevice, head_model: HeadModelResource) -> dg.MaterializeResult:
        from gasp_ops.prior.config import default_config
        from gasp_ops.prior.distributed import DistInfo
        from gasp_ops.prior.run import open_training_views, train_from_dataset

        p = preset.get()
        folder = row_dir(data_root, p.name, row.key)
        settings = SweepSettings(prior_steps=config.prior_steps, prior_batch_size=config.prior_batch_size)
        try:
            cfg = default_config(p.name, seed=config.seed, **prior_overrides(row, settings))
            root = (dataset_dir(data_root, p.name) if row.dataset == MAIN_DATASET
                    else sweep_dataset_dir(data_root, p.name))
            views = open_training_views(root, cfg)
            out = folder / "prior"
            if not config.resume and (out / "checkpoint.safetensors").is_file():
                (out / "checkpoint.safetensors").unlink()
            device = compute.torch_device()
            summary = train_from_dataset(root, out, cfg, compute_head(head_model, device), log=context.log.info,
                                         dist_info=DistInfo(device=device), progress=False, views=views)
        except Exception as exc:  # recorded for the table, then reported to Dagster
            raise _fail(folder, "prior", exc) from exc
        _write_status(folder, "prior trained")
        return dg.MaterializeResult(metadata={
            "subjects": summary["subjects"], "gaussians": summary["gaussians"], "steps": summary["steps"],
            "uv_resolution": cfg.uv_resolution, "train_seconds": round(summary["train_seconds_this_run"], 1),
            "heldout_psnr_decoded": summary["heldout"]["psnr_decoded"],
            "path": dg.MetadataValue.path(summary["prior_path"])})

    @dg.asset(name=f"ablation_row_{row.key}", group_name=GROUP, deps=[_prior, embedded_capture_frames],
              kinds={"pytorch", "parquet"}, op_tags=_tags(row.key),
              description=f"Tab. 3 '{row.label}': the embedded subject fitted with this row's prior and scored on "
              f"its held-out cameras -> evaluation/sweep/{row.key}/metrics.parquet + status.json.")
    def _row(context: dg.AssetExecutionContext, config: SweepRowConfig, data_root: DataRoot, preset: PipelinePreset,
             compute: ComputeDevice, head_model: HeadModelResource) -> dg.MaterializeResult:
        from evaluation.ablation_sweep import fit_and_score
        from evaluation.identity import face_embedder
        from evaluation.metrics import write_metric_rows
        from gasp_ops.fitting import default_fit_config
        from gasp_ops.prior.checkpoint import PRIOR_NAME, load_prior

        p = preset.get()
        folder = row_dir(data_root, p.name, row.key)
        device = compute.torch_device()
        try:
            train, evals = subject_frames(data_root, p.name, config.image_size or p.image_size,
                                          config.max_train_frames, config.max_eval_frames)
            head = compute_head(head_model, device)
            prior, meta = load_prior(folder / "prior" / PRIOR_NAME, head, device)
            cfg = default_fit_config(p.name, "full", seed=config.seed, steps_inversion=config.steps_inversion,
                                     steps_decoder=config.steps_decoder, steps_refine=config.steps_refine)
            embedder = face_embedder()[0] if "id_sim" in config.metrics else None
            uv = int(meta["config"]["uv_resolution"])
            rows, seconds = fit_and_score(prior, head, train, evals, cfg, uv_resolution=uv,
                                          subject=str(REAL_PROXY_ID), setting=SETTING, method=row.key,
                                          metrics=config.metrics, embedder=embedder, device=device,
                                          log=context.log.info)
        except Exception as exc:
            raise _fail(folder, "fit", exc) from exc
        out = write_metric_rows(folder / "metrics.parquet", rows)
        fit_steps = f"{cfg.steps_inversion}/{cfg.steps_decoder}/{cfg.steps_refine}"
        info = {"prior_subjects": meta["subjects"], "uv_resolution": uv, "gaussians": meta["gaussians"],
                "prior_steps": meta["steps"], "fit_steps": fit_steps,
                "fit_seconds": round(seconds, 1), "train_frames": len(train), "eval_frames": len(evals)}
        _write_status(folder, "run", **info)
        psnr = rows[rows.metric == "psnr"].value.mean()
        return dg.MaterializeResult(metadata={**info, "rows": len(rows),
                                              "psnr_mean": float(psnr), "path": dg.MetadataValue.path(str(out))})

    return _prior, _row


def compute_head(head_model: HeadModelResource, device):
    return head_model.build().to(device)


SWEEP_ASSETS = {row.key: make_sweep_row_assets(row) for row in SWEEP_ROWS}
sweep_priors = [pair[0] for pair in SWEEP_ASSETS.values()]
sweep_rows = [pair[1] for pair in SWEEP_ASSETS.values()]


def read_sweep_row(data_root: DataRoot, preset_name: str, row: SweepRow) -> dict:
    """{label, key, status, rows (metric DataFrame or None), info} of one sweep row from its folder."""
    from gasp_ops.io.tables import read_parquet

    folder = row_dir(data_root, preset_name, row.key)
    status_path = folder / "status.json"
    if not status_path.is_file():
        return {"label": row.label, "key": row.key, "status": "not run: not materialised "
                f"(ablation_prior_{row.key} -> ablation_row_{row.key})", "rows": None, "info": {}}
    state = json.loads(status_path.read_text())
    info = {k: v for k, v in state.items() if k not in ("status", "reason")}
    if state["status"] == "run":
        return {"label": row.label, "key": row.key, "status": "run", "rows": read_parquet(folder / "metrics.parquet"),
                "info": info}
    if state["status"] == "failed":
        return {"label": row.label, "key": row.key, "status": f"failed: {state.get('reason', '')}", "rows": None,
                "info": info}
    return {"label": row.label, "key": row.key, "status": f"not run: {state['status']}, not fitted yet", "rows": None,
            "info": info}


@dg.asset(group_name=GROUP, deps=[ablation_metrics, *sweep_rows], kinds={"parquet", "markdown", "png"})
def ablation_table(context: dg.AssetExecutionContext, data_root: DataRoot,
                   preset: PipelinePreset) -> dg.MaterializeResult:
    """GASP Tab. 3 (PSNR, SSIM, LPIPS, FID, ID-SIM; the ablations of ``ablation_metrics`` and every sweep row,
    with the prior's identities / UV / Gaussians / steps and the fit's steps per row, and each row's status) ->
    evaluation/table3.{parquet,md} + table3_<metric>.png."""
    import pandas as pd

    from evaluation.metrics import ROW_COLUMNS
    from evaluation.tables import TABLE3_INFO_COLUMNS, table3, write_table
    from gasp_ops.io.tables import read_parquet

    p = preset.get()
    folder = evaluation_dir(data_root, p.name)
    metrics_path = folder / "ablation_metrics.parquet"
    rows = read_parquet(metrics_path) if metrics_path.is_file() else pd.DataFrame(columns=ROW_COLUMNS)
    info_path = folder / "ablation_metrics.json"
    info = json.loads(info_path.read_text()) if info_path.is_file() else main_prior_info(data_root, p.name)
    sweep = [read_sweep_row(data_root, p.name, row) for row in SWEEP_ROWS]
    df = table3(rows, sweep=sweep, info=info)
    title = "Table 3: ablations (tiny preset, embedded subject)" if p.name == "tiny" else "Table 3: ablations"
    paths = write_table(df, folder, "table3", ["variant", *TABLE3_INFO_COLUMNS], title)
    return dg.MaterializeResult(metadata={
        "variants": len(df), "run": int((df.status == "run").sum()),
        "failed": int(df.status.str.startswith("failed").sum()),
        "table": dg.MetadataValue.md(paths["markdown"].read_text()),
        "path": dg.MetadataValue.path(str(paths["parquet"]))})
