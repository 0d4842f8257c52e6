"""Avatar fitting as assets (GASP §3.5, §6): avatar_fit (subject x setting) -> avatar_renders.

Thin: Dagster config -> gasp_ops.fitting -> files under data_root/<preset>/avatars/<subject>/<setting>/.
Inputs: the subject's preprocessed frame table data_root/<preset>/capture/<subject>/frames.parquet (the
``preprocessed_frames`` asset) and the trained prior data_root/<preset>/prior/prior.safetensors (``gaussian_prior``).
"""

from pathlib import Path
from typing import Optional

import dagster as dg

from assets_defs.capture_assets import REAL_PROXY_ID, embedded_capture_frames
from assets_defs.metadata import image_metadata
from assets_defs.partitions import subject_setting_partitions
from assets_defs.prior_assets import gaussian_prior, load_fit_prior, shipped_prior
from assets_defs.resources import ComputeDevice, DataRoot, HeadModelResource, PipelinePreset, PriorSource
from assets_defs.step_tags import GPU_STEP_TAGS
from gasp_ops.web.server import view_command
from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.cpu_copy import on_cpu
from gasp_ops.io.safe_paths import check_key, path_under

GROUP = "fitting"


class AvatarFitConfig(dg.Config):
    """ablation: full | no_prior | no_regulariser | no_stage1 | no_stage2 | no_stage3 (GASP Tab. 3).
    steps_*: override the preset's stage lengths (paper 500 / 500 / 100). image_size: resize frames (longer side).
    sequence / camera: restrict the frames (default: all sequences, the most frontal camera).
    consent / owner: likeness metadata written into the avatar file. fp16: half-size avatar file.
    mode: enrolment mode (``gasp_ops.encoder.modes``): instant (encoder code + the photos' colours projected on, no
    optimisation) | fast (encoder code + a quarter of the steps, ``modes.fast_steps``) | full (encoder code + the full
    fit); fast and full start stage 3 from the projected colours; None = the paper's fit from the mean code.
    encoder_path: the encoder file a mode needs (default: the shipped gasp_models/encoder.safetensors with the
    shipped prior, else data_root/<preset>/encoder/encoder.safetensors)."""

    ablation: str = "full"
    steps_inversion: Optional[int] = None
    steps_decoder: Optional[int] = None
    steps_refine: Optional[int] = None
    image_size: Optional[int] = None
    sequence: Optional[str] = None
    camera: Optional[str] = None
    max_frames: Optional[int] = None
    consent: str = "unknown"
    owner: str = ""
    fp16: bool = False
    seed: int = 0
    mode: Optional[str] = None
    encoder_path: Optional[str] = None


def avatar_dir(data_root: DataRoot, preset_name: str, subject: str, setting: str) -> Path:
    """``<root>/<preset>/avatars/<subject>/<setting>``; keys checked, the result stays under the data root."""
    return data_root.path(preset_name, "avatars", check_key("subject", subject), check_key("setting", setting),
                          "x").parent


def frame_table_path(data_root: DataRoot, preset_name: str, subject: str) -> Path:
    root = data_root.path(preset_name, "capture", "x").parent
    subject = check_key("subject", subject)
    direct = path_under(root, subject, "frames.parquet")
    if direct.is_file():
        return direct
    found = sorted(p for p in root.glob(f"{subject}*/frames.parquet") if path_under(root, p.relative_to(root)))
    if not found:
        raise dg.Failure(f"subject {subject}: no frame table under {root} (materialise preprocessed_frames first)")
    return found[0]


def _keys(context) -> tuple[str, str]:
    """(subject, setting) of the partition, each checked against ``KEY_PATTERN`` (no path can ride in a key)."""
    key = context.partition_key.keys_by_dimension
    try:
        return check_key("subject", key["subject"]), check_key("setting", key["setting"])
    except GaspInputError as exc:
        raise dg.Failure(str(exc)) from None


def fit_subject(context, config: AvatarFitConfig, data_root: DataRoot, preset: PipelinePreset,
                compute: ComputeDevice, head_model: HeadModelResource, prior_source: PriorSource, subject: str,
                setting: str) -> dict:
    """Fit ``subject`` in ``setting`` with the trained prior and write the avatar folder; returns metadata."""
    from gasp_ops.encoder.modes import fit_with_mode
    from gasp_ops.fitting import default_fit_config, from_frame_table
    from gasp_ops.fitting.report import write_fit_outputs
    from gasp_ops.io.staged_dir import retarget, staged_directory

    p = preset.get()
    overrides = {k: getattr(config, k) for k in ("steps_inversion", "steps_decoder", "steps_refine")
                 if getattr(config, k) is not None}
    try:
        cfg = default_fit_config(p.name, config.ablation, seed=config.seed, **overrides)
        table = frame_table_path(data_root, p.name, subject)
        select = {k: getattr(config, k) for k in ("sequence", "camera", "max_frames") if getattr(config, k)}
        inputs = from_frame_table(table, setting=setting, image_size=config.image_size or p.image_size, **select)
        device = compute.torch_device()
        head = head_model.build().to(device)
        prior, prior_meta = load_fit_prior(prior_source, data_root, p.name, head, device)
        encoder = None
        if config.mode is not None:
            from gasp_ops.encoder.checkpoint import ENCODER_NAME, load_encoder, resolve_encoder_path

            path, pinned = resolve_encoder_path(config.encoder_path, data_root.path(p.name, "encoder", ENCODER_NAME),
                                                prior_meta.get("source"))
            encoder, _ = load_encoder(path, device, sha256=pinned)
        # Without the prior, bind as many Gaussians as the prior has (same representation, no learned prior).
        result = fit_with_mode(prior if cfg.use_prior else None, head, inputs, cfg, mode=config.mode,
                               encoder=encoder, device=device, log=context.log.info, progress=True,
                               uv_resolution=int(prior_meta["config"]["uv_resolution"]))
        folder = avatar_dir(data_root, p.name, subject, setting)
        with staged_directory(folder) as stage:  # one unit: a kill leaves the previous fit's folder intact
            out = retarget(write_fit_outputs(stage, result, on_cpu(head), inputs, subject=subject,
                                             consent=config.consent, owner=config.owner, fp16=config.fp16),
                           stage, folder)
    except GaspInputError as exc:
        raise dg.Failure(str(exc)) from None
    rec = out["record"]
    metadata = {
        "subject": subject, "frames": len(inputs), "gaussians": result.avatar.count, "setting": setting,
        "ablation": config.ablation, "mode": config.mode or "mean-code fit",
        "stage_seconds": dg.MetadataValue.json(rec["seconds"]),
        "final": dg.MetadataValue.json(rec["final"]), "avatar_file": dg.MetadataValue.path(str(out["avatar"])),
        "avatar_file_mb": round(out["avatar"].stat().st_size / 1e6, 3), "lpips": result.lpips,
        "viewer": view_command(out["avatar"], head_model),  # the avatar in the browser (docs/web_bundle.md)
    }
    for name, label in (("curves", "loss_curves"), ("input_vs_render", "input_vs_render"),
                        ("turntable_strip", "turntable_strip")):
        if name in out:  # no loss curves in instant mode (no steps)
            metadata.update(image_metadata(out[f"{name}_image"], out[name], label))
    return metadata


@dg.asset(group_name=GROUP, partitions_def=subject_setting_partitions, deps=[gaussian_prior, shipped_prior],
          kinds={"pytorch", "safetensors", "png"}, op_tags=GPU_STEP_TAGS)
def avatar_fit(context: dg.AssetExecutionContext, config: AvatarFitConfig, data_root: DataRoot,
               preset: PipelinePreset, compute: ComputeDevice, head_model: HeadModelResource,
               prior_source: PriorSource) -> dg.MaterializeResult:
    """Three-stage fit of one subject in one setting -> a self-contained avatar file (+ loss curves, input vs
    render, 4-view turntable strip)."""
    subject, setting = _keys(context)
    return dg.MaterializeResult(metadata=fit_subject(context, config, data_root, preset, compute, head_model,
                                                     prior_source, subject, setting))


@dg.asset(group_name="fitting_demo", deps=[gaussian_prior, shipped_prior, embedded_capture_frames],
          kinds={"pytorch", "safetensors", "png"}, op_tags=GPU_STEP_TAGS)
def embedded_avatar_fit(context: dg.AssetExecutionContext, config: AvatarFitConfig, data_root: DataRoot,
                        preset: PipelinePreset, compute: ComputeDevice,
                        head_model: HeadModelResource, prior_source: PriorSource) -> dg.MaterializeResult:
    """The main job's end-to-end demo: the embedded ``real_proxy`` capture subject fitted from its frontal camera
    (monocular setting) with the prior trained on the synthetic people; writes its avatar file."""
    return dg.MaterializeResult(metadata=fit_subject(context, config, data_root, preset, compute, head_model,
                                                     prior_source, str(REAL_PROXY_ID), "monocular"))


class AvatarRendersConfig(dg.Config):
    """Evaluation renders: every frame of the subject's table whose camera is not a training camera (or all frames
    when ``all_frames``), at most ``max_frames``; PSNR against the masked ground truth."""

    max_frames: int = 64
    image_size: Optional[int] = None
    all_frames: bool = False


@dg.asset(group_name=GROUP, partitions_def=subject_setting_partitions, deps=[avatar_fit], kinds={"png", "mp4"},
          op_tags=GPU_STEP_TAGS)
def avatar_renders(context: dg.AssetExecutionContext, config: AvatarRendersConfig, data_root: DataRoot,
                   preset: PipelinePreset, compute: ComputeDevice,
                   head_model: HeadModelResource) -> dg.MaterializeResult:
    """Render the fitted avatar for the evaluation cameras (PNG sheet, per-frame PSNR, re-enactment mp4)."""
    import numpy as np
    import torch

    from gasp_ops.avatar_file import load_avatar_file
    from gasp_ops.export.video import write_mp4
    from gasp_ops.fitting import from_frame_table, select_setting
    from gasp_ops.fitting.report import AVATAR_NAME
    from gasp_ops.io.images import save_png
    from gasp_ops.io.tables import read_parquet
    from gasp_ops.prior.evaluate import psnr
    from gasp_ops.render.render import render
    from gasp_ops.runtime import FastPoser
    from gasp_ops.viz.contact_sheet import contact_sheet

    subject, setting = _keys(context)
    p = preset.get()
    folder = avatar_dir(data_root, p.name, subject, setting)
    device = compute.torch_device()
    head = head_model.build()
    f = load_avatar_file(folder / AVATAR_NAME, head)
    table_path = frame_table_path(data_root, p.name, subject)
    table = read_parquet(table_path)
    if not config.all_frames:
        train_cams = set(select_setting(table, setting)["camera"].astype(str))
        held = table[~table["camera"].astype(str).isin(train_cams)]
        table = held if not held.empty else table
    table = table.head(config.max_frames)
    inputs = from_frame_table(table, table_path.parent, image_size=config.image_size or p.image_size)
    head = head.to(device)
    poser = FastPoser(f.avatar, device=device)
    frames, scores, rows = [], [], []
    with torch.no_grad():
        for i in range(len(inputs)):
            sub = inputs.subset([i]).to(device)
            verts = head(f.identity[None].to(device), sub.expressions, sub.poses)
            rgb = render(poser(verts), sub.cameras).rgb[0].cpu()
            gt = (sub.images[0] * sub.mattes[0, ..., None]).cpu()
            scores.append(float(psnr(rgb[None], gt[None])))
            frames.append((rgb.clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy())
            if len(rows) < 6:
                rows.append([gt.numpy(), rgb.numpy()])
    sheet = contact_sheet(rows, col_labels=["ground truth", "render"])
    sheet_path = save_png(folder / "eval_renders.png", sheet)
    video = write_mp4(folder / "eval_renders.mp4", np.stack(frames), fps=10)
    return dg.MaterializeResult(metadata={
        "frames": len(frames), "psnr_mean": float(np.mean(scores)), "psnr": dg.MetadataValue.json(scores),
        "video": dg.MetadataValue.path(str(video)), **image_metadata(sheet, sheet_path, "eval_renders")})
