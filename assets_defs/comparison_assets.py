"""GASP vs the no-prior baselines as assets (GASP §6, Tabs. 1-2).

Thin: Dagster config -> ``evaluation.comparison`` (fits via ``gasp_ops.fitting.baselines``) -> files under
``data_root/<preset>/evaluation/``. Every (subject, setting) writes its own folder
``comparison/<subject>/<setting>/`` (metrics.parquet: per-frame rows (subject, setting, method, camera, frame,
metric, value, backend); contact_sheet.png), atomically, so a failing subject or setting never touches the others.

Main job (group ``comparison``): one unpartitioned step per (subject, setting) for the two embedded ``real_proxy``
subjects ('900': tracked by the project's tracker, '901': read from the NeRSemble benchmark layout with its provided
alpha maps and tracking) x {monocular, single_image}; the multiprocess executor runs them side by side and a
failure stops only that step (and the table). ``comparison_table1`` aggregates whatever folders exist into Tab. 1.
Any subjects (group ``comparison_partitioned``): ``comparison_metrics`` partitioned by subject x setting (backfill
it over many subjects with the multiprocess executor; partitions fail independently), and ``comparison_table2``
(Tab. 2, multi-camera; evaluated on the frames the fit did not see, since it trains on every camera).
"""

import dagster as dg

from assets_defs.capture_assets import (BENCHMARK_SUBJECT_ID, REAL_PROXY, REAL_PROXY_ID, embedded_benchmark_frames,
                                        embedded_capture_frames)
from assets_defs.evaluation_assets import evaluation_dir
from assets_defs.fit_budget_config import FitBudgetConfig
from assets_defs.fitting_assets import frame_table_path
from assets_defs.metadata import image_metadata
from assets_defs.partitions import subject_setting_partitions
from assets_defs.prior_assets import gaussian_prior, load_fit_prior, shipped_prior
from assets_defs.resources import ComputeDevice, DataRoot, HeadModelResource, PipelinePreset, PriorSource
from assets_defs.step_tags import GPU_STEP_TAGS
from evaluation.tables import TABLE1_SETTINGS, TABLE2_SETTINGS

GROUP = "comparison"
PARTITIONED_GROUP = "comparison_partitioned"
#: The main job's subjects and the asset that writes each one's frame table.
MAIN_SUBJECTS = {str(REAL_PROXY_ID): embedded_capture_frames, str(BENCHMARK_SUBJECT_ID): embedded_benchmark_frames}
#: Per-preset comparison budget (every method gets the same steps; GASP splits them over its 3 stages). tiny: small
#: enough for 12 fits in the main job on 2 CPU cores; paper: the fitting preset's 500 / 500 / 100 at 512 px.
BUDGETS = {"tiny": dict(steps_inversion=8, steps_decoder=8, steps_refine=8, image_size=64),
           "paper": dict(steps_inversion=500, steps_decoder=500, steps_refine=100, image_size=512)}


class ComparisonConfig(FitBudgetConfig):
    """methods: gasp | gaussian_avatars | flash_avatar; the step budget defaults to the preset's (``BUDGETS``)."""

    methods: list[str] = ["gasp", "gaussian_avatars", "flash_avatar"]


def comparison_dir(data_root: DataRoot, preset_name: str, subject: str, setting: str):
    from gasp_ops.io.safe_paths import check_key, path_under

    return path_under(evaluation_dir(data_root, preset_name), "comparison", check_key("subject", subject),
                      check_key("setting", setting))


def _subject_folder(key: str) -> str:
    from gasp_ops.io.safe_paths import check_key

    return str(REAL_PROXY_ID) if key == REAL_PROXY else check_key("subject", key)


def run_comparison(context, config: ComparisonConfig, data_root: DataRoot, preset: PipelinePreset,
                   compute: ComputeDevice, head_model: HeadModelResource, prior_source: PriorSource, subject: str,
                   setting: str) -> dict:
    """Fit and score every method for one (subject, setting); write its folder; return asset metadata."""
    from evaluation.comparison import compare_methods, write_comparison
    from evaluation.identity import face_embedder
    from gasp_ops.errors import GaspInputError
    from gasp_ops.fitting import default_fit_config
    from gasp_ops.io.tables import read_parquet

    p = preset.get()
    budget = dict(BUDGETS.get(p.name, BUDGETS["tiny"]))
    for k in ("steps_inversion", "steps_decoder", "steps_refine", "image_size"):
        if getattr(config, k) is not None:
            budget[k] = getattr(config, k)
    size = int(budget.pop("image_size"))
    device = compute.torch_device()
    try:
        cfg = default_fit_config(p.name, seed=config.seed, **budget)
        table_path = frame_table_path(data_root, p.name, subject)
        head = head_model.build().to(device)
        prior, meta = load_fit_prior(prior_source, data_root, p.name, head, device)
        embedder = face_embedder()[0] if "id_sim" in config.metrics else None
        comp = compare_methods(read_parquet(table_path), table_path.parent, subject=subject, setting=setting,
                               prior=prior, head=head, uv_resolution=int(meta["config"]["uv_resolution"]), config=cfg,
                               methods=list(config.methods), image_size=size,
                               heldout="frames" if setting in TABLE2_SETTINGS else "cameras",
                               max_train_frames=config.max_train_frames, max_eval_frames=config.max_eval_frames,
                               metrics=tuple(config.metrics), embedder=embedder, device=device, log=context.log.info)
    except GaspInputError as exc:
        raise dg.Failure(str(exc)) from None
    out = write_comparison(comp, comparison_dir(data_root, p.name, subject, setting),
                           title=f"subject {subject}, {setting} (held-out cameras, first frame each)")
    psnr = comp.rows[comp.rows.metric == "psnr"].groupby("method").value.mean().round(3).to_dict()
    return {"subject": subject, "setting": setting, "train_frames": comp.train_frames,
            "eval_frames": len(comp.labels), "steps_per_method": cfg.steps_inversion + cfg.steps_decoder
            + cfg.steps_refine, "image_size": size, "fit_seconds": dg.MetadataValue.json(comp.seconds),
            "method_stats": dg.MetadataValue.json(comp.stats), "psnr_mean": dg.MetadataValue.json(psnr),
            "rows": len(comp.rows), "path": dg.MetadataValue.path(str(out["metrics"])),
            **image_metadata(out["sheet"], out["contact_sheet"], "contact_sheet")}


def _comparison_asset(subject: str, setting: str, upstream) -> dg.AssetsDefinition:
    @dg.asset(name=f"comparison_{subject}_{setting}", group_name=GROUP, deps=[gaussian_prior, shipped_prior, upstream],
              kinds={"pytorch", "parquet", "png"}, op_tags=GPU_STEP_TAGS)
    def _asset(context: dg.AssetExecutionContext, config: ComparisonConfig, data_root: DataRoot,
               preset: PipelinePreset, compute: ComputeDevice, head_model: HeadModelResource,
               prior_source: PriorSource) -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata=run_comparison(context, config, data_root, preset, compute, head_model,
                                                            prior_source, subject, setting))

    _asset.__doc__ = (f"GASP, gaussian_avatars-style and flash_avatar-style fitted to subject {subject} in the "
                      f"{setting} setting with one step budget, scored per frame on the held-out cameras.")
    return _asset


main_comparisons = [_comparison_asset(s, st, up) for s, up in MAIN_SUBJECTS.items() for st in TABLE1_SETTINGS]


def collect_rows(data_root: DataRoot, preset_name: str, settings):
    """Concatenated metric rows of every comparison folder of ``settings`` (sorted by subject)."""
    import pandas as pd

    from evaluation.metrics import ROW_COLUMNS
    from gasp_ops.io.tables import read_parquet

    base = evaluation_dir(data_root, preset_name) / "comparison"
    paths = sorted(p for st in settings for p in base.glob(f"*/{st}/metrics.parquet"))
    parts = [read_parquet(p) for p in paths]
    return (pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=ROW_COLUMNS)), paths


def _table_asset_body(context, data_root: DataRoot, preset: PipelinePreset, number: int, settings):
    import numpy as np

    from evaluation.contact_sheet import stack_sheets
    from evaluation.metrics import write_metric_rows
    from evaluation.tables import comparison_table, write_table
    from gasp_ops.io.images import load_png, save_png

    p = preset.get()
    folder = evaluation_dir(data_root, p.name)
    rows, paths = collect_rows(data_root, p.name, settings)
    if rows.empty:
        raise dg.Failure(f"Table {number}: no comparison metrics under {folder / 'comparison'} for settings "
                         f"{', '.join(settings)} (materialise the comparison assets first)")
    all_rows = write_metric_rows(folder / f"comparison_metrics_table{number}.parquet", rows)
    df = comparison_table(rows, settings)
    subjects = sorted(rows.subject.astype(str).unique())
    title = (f"Table {number}: {' / '.join(settings)} ({p.name} preset, subjects {', '.join(subjects)}, "
             f"mean over held-out frames)")
    out = write_table(df, folder, f"table{number}", ["setting", "method"], title)
    sheets = [load_png(q.parent / "contact_sheet.png")[..., :3] for q in paths
              if (q.parent / "contact_sheet.png").is_file()]
    sheet = stack_sheets(sheets) if sheets else np.full((8, 8, 3), 255, np.uint8)
    sheet_path = save_png(folder / f"table{number}_contact_sheet.png", sheet)
    meta = {"table": dg.MetadataValue.md(out["markdown"].read_text()), "subjects": dg.MetadataValue.json(subjects),
            "path": dg.MetadataValue.path(str(out["parquet"])), "rows_path": dg.MetadataValue.path(str(all_rows)),
            "metric_rows": len(rows), **image_metadata(sheet, sheet_path, "contact_sheet")}
    for m in ("psnr", "ssim"):
        meta.update(image_metadata(load_png(out[f"chart_{m}"])[..., :3], out[f"chart_{m}"], f"chart_{m}"))
    yield dg.MaterializeResult(metadata=meta)
    yield from _table_checks(rows, settings, number)


def _table_checks(rows, settings, number: int):
    """complete: every (subject, setting) present has rows of every method; finite: PSNR / SSIM have no NaN."""
    have = rows.groupby(["subject", "setting"]).method.apply(lambda m: sorted(set(m))).to_dict()
    methods = sorted(set(rows.method))
    missing = {f"{s}/{st}": sorted(set(methods) - set(m)) for (s, st), m in have.items() if set(m) != set(methods)}
    wanted_settings = set(settings) - set(rows.setting)
    yield dg.AssetCheckResult(check_name="every_method_has_rows", asset_key=dg.AssetKey(f"comparison_table{number}"),
                              passed=not missing and not wanted_settings and len(methods) >= 3,
                              metadata={"missing": dg.MetadataValue.json(missing),
                                        "settings_without_rows": dg.MetadataValue.json(sorted(wanted_settings)),
                                        "methods": dg.MetadataValue.json(methods)})
    core = rows[rows.metric.isin(["psnr", "ssim"])]
    yield dg.AssetCheckResult(check_name="no_nan", asset_key=dg.AssetKey(f"comparison_table{number}"),
                              passed=bool(len(core)) and not bool(core.value.isna().any()),
                              metadata={"psnr_ssim_rows": len(core), "nan": int(core.value.isna().sum())})


def _checks(number: int):
    key = f"comparison_table{number}"
    return [dg.AssetCheckSpec("every_method_has_rows", asset=key,
                              description="every (subject, setting) has rows of all three methods"),
            dg.AssetCheckSpec("no_nan", asset=key, description="no NaN PSNR / SSIM row")]


@dg.asset(group_name=GROUP, deps=main_comparisons, kinds={"parquet", "markdown", "png"}, check_specs=_checks(1))
def comparison_table1(context: dg.AssetExecutionContext, data_root: DataRoot, preset: PipelinePreset):
    """GASP Tab. 1 (monocular and single image): PSNR, SSIM, LPIPS, FID, ID-SIM per setting and method, means over
    every subject's held-out frames -> evaluation/table1.{parquet,md}, table1_<metric>.png, a contact sheet (ground
    truth vs each method on the held-out cameras) and all rows in comparison_metrics_table1.parquet."""
    yield from _table_asset_body(context, data_root, preset, 1, TABLE1_SETTINGS)


@dg.asset(group_name=PARTITIONED_GROUP, partitions_def=subject_setting_partitions, deps=[gaussian_prior, shipped_prior],
          kinds={"pytorch", "parquet", "png"}, op_tags=GPU_STEP_TAGS)
def comparison_metrics(context: dg.AssetExecutionContext, config: ComparisonConfig, data_root: DataRoot,
                       preset: PipelinePreset, compute: ComputeDevice,
                       head_model: HeadModelResource, prior_source: PriorSource) -> dg.MaterializeResult:
    """One subject x setting of the comparison (any subject with a frame table, e.g. ``preprocessed_frames``);
    multi-camera is scored on the frames it did not train on, the other settings on held-out cameras."""
    key = context.partition_key.keys_by_dimension
    subject, setting = _subject_folder(key["subject"]), key["setting"]
    return dg.MaterializeResult(metadata=run_comparison(context, config, data_root, preset, compute, head_model,
                                                        prior_source, subject, setting))


@dg.asset(group_name=PARTITIONED_GROUP, deps=[comparison_metrics], kinds={"parquet", "markdown", "png"},
          check_specs=_checks(2))
def comparison_table2(context: dg.AssetExecutionContext, data_root: DataRoot, preset: PipelinePreset):
    """GASP Tab. 2 (multi-camera) from every ``comparison_metrics`` multi_camera partition on disk ->
    evaluation/table2.{parquet,md} + charts + contact sheet."""
    yield from _table_asset_body(context, data_root, preset, 2, TABLE2_SETTINGS)
