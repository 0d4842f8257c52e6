"""Figures and the end-to-end enrolment used by the CLI and the Dagster assets (no Dagster here).

``write_fit_outputs``: avatar file + per-stage loss curves (PNG) + input view vs render + 4-view turntable strip.
``enroll``: photo / video / frame-table folder -> FitInputs -> fit -> avatar file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from gasp_ops.errors import GaspInputError
from gasp_ops.fitting.config import FitConfig
from gasp_ops.fitting.fit import FitResult
from gasp_ops.fitting.inputs import FitInputs, from_frame_table
from gasp_ops.headmodel.cpu_copy import on_cpu
from gasp_ops.io.atomic import write_text_atomic
from gasp_ops.io.images import save_png

AVATAR_NAME = "avatar.safetensors"


def plot_stage_curves(history: dict, path) -> tuple[Path, np.ndarray]:
    """One panel per stage (total loss and L_prior, PSNR on a twin axis). Returns (path, uint8 image)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gasp_ops.io.atomic import atomic_path

    stages = list(history) or ["(none)"]
    fig, axes = plt.subplots(1, len(stages), figsize=(4 * len(stages), 3.2), dpi=80, squeeze=False)
    for ax, name in zip(axes[0], stages):
        h = history.get(name, {})
        steps = h.get("step", [])
        if steps:
            ax.plot(steps, h["total"], label="total", lw=1)
            if any(h.get("prior", [])):
                ax.plot(steps, h["prior"], label="L_prior", lw=1)
            ax2 = ax.twinx()
            ax2.plot(steps, h["psnr"], color="tab:green", lw=1, label="PSNR")
            ax2.set_ylabel("PSNR (dB)", fontsize=8)
        ax.set_title(f"stage: {name}", fontsize=9)
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return Path(path), image


@torch.no_grad()
def render_input_views(avatar, head, inputs: FitInputs, frames: int):
    """(the first ``frames`` input frames on the head's device, ``RenderOutput`` of the avatar at their cameras,
    expressions and poses, over black)."""
    from gasp_ops.render.render import render
    from gasp_ops.runtime.posing import FastPoser

    sub = inputs.subset(list(range(frames))).to(head.template.device)
    verts = head(sub.identity[None].expand(frames, -1).float(), sub.expressions.float(), sub.poses)
    return sub, render(FastPoser(avatar, device=head.template.device)(verts), sub.cameras)


def input_vs_render(avatar, head, inputs: FitInputs, max_frames: int = 4) -> np.ndarray:
    """uint8 sheet: rows = input frames (up to ``max_frames``), columns = input (over black) and render."""
    from gasp_ops.viz.contact_sheet import contact_sheet

    k = min(len(inputs), max_frames)
    sub, out = render_input_views(avatar, head, inputs, k)
    rows = [[(sub.images[i] * sub.mattes[i, ..., None]).cpu().numpy(), out.rgb[i].cpu().numpy()] for i in range(k)]
    return contact_sheet(rows, row_labels=[str(x)[-12:] for x in sub.labels[:k]], col_labels=["input", "render"])


def write_fit_outputs(out_dir, result: FitResult, head, inputs: FitInputs, *, subject: str = "",
                      consent: str = "unknown", owner: str = "", fp16: bool = False, figures: bool = True) -> dict:
    """Write avatar.safetensors, curves.png, input_vs_render.png, turntable_strip.png and fit.json to ``out_dir``.
    Returns {name: path} plus the images (uint8) under "<name>_image".

    curves.png only when the fit ran steps (instant mode has no curves); figures=False: the avatar file and fit.json
    only (a warm enrolment service that needs the avatar, not the pictures)."""
    from gasp_ops.avatar_file import save_avatar_file
    from gasp_ops.export.video import turntable_strip

    out = Path(out_dir)
    record = {"config": result.config.as_dict(), "seconds": result.seconds, "spatial_scale": result.spatial_scale,
              "lpips": result.lpips, "frames": len(inputs), "labels": list(inputs.labels)[:50],
              "final": {k: {m: v[m][-1] for m in ("total", "psnr", "prior")} for k, v in result.history.items()}}
    avatar_path = save_avatar_file(out / AVATAR_NAME, result.avatar, inputs.identity, head,
                                   source_sha256=inputs.content_hash(), source=inputs.source, subject=subject,
                                   consent=consent, owner=owner, fit=record, fp16=fp16, capture=inputs.capture)
    write_text_atomic(out / "fit.json", json.dumps({**record, "history": result.history}, indent=1, default=str))
    written = {"avatar": avatar_path, "record": record}
    if not figures:
        return written
    if any(h.get("step") for h in result.history.values()):
        written["curves"], written["curves_image"] = plot_stage_curves(result.history, out / "curves.png")
    cmp = input_vs_render(result.avatar, head, inputs)
    written.update(input_vs_render=save_png(out / "input_vs_render.png", cmp), input_vs_render_image=cmp)
    strip = turntable_strip(result.avatar, head, inputs.identity, image_size=min(256, max(inputs.image_size)))
    written.update(turntable_strip=save_png(out / "turntable_strip.png", strip), turntable_strip_image=strip)
    return written


def load_inputs(source, head, work_dir, *, setting: str | None = None, image_size: int | None = None,
                log: Callable[[str], None] | None = None, capture: dict | None = None, **select) -> FitInputs:
    """A photo / video file (preprocessed with ``gasp_ops.capture.phone.preprocess_capture`` into ``work_dir``,
    with ``capture`` options: face, matting, landmarks), a folder holding ``frames.parquet``, or the table itself
    -> FitInputs (``.capture``: the face choice / crop record, from the folder's ``capture.json`` if any)."""
    from gasp_ops.capture.head_framing import read_capture_record
    from gasp_ops.capture.phone import IMAGE_SUFFIXES

    log = log or (lambda m: None)
    source = Path(source)
    if source.is_dir():
        table = source / "frames.parquet"
        if not table.is_file():
            raise GaspInputError(str(source), "no frames.parquet in this folder (preprocess the capture first)")
        inputs = from_frame_table(table, setting=setting, image_size=image_size, **select)
        inputs.capture = read_capture_record(source)
        return inputs
    if source.suffix == ".parquet":
        inputs = from_frame_table(source, setting=setting, image_size=image_size, **select)
        inputs.capture = read_capture_record(source.parent)
        return inputs
    if not source.is_file():
        raise GaspInputError(str(source), "not found")
    from gasp_ops.capture.phone import preprocess_capture

    log(f"preprocessing {source} ({'photo' if source.suffix.lower() in IMAGE_SUFFIXES else 'video'}) ...")
    report = preprocess_capture(source, work_dir, head, log=log, **(capture or {}))
    log(f"tracked {len(report.table)} frames -> {report.table_path}")
    inputs = from_frame_table(report.table_path, setting=setting or "monocular", image_size=image_size,
                              frame_step=select.pop("frame_step", 1), **select)
    inputs.capture = report.capture
    return inputs


def default_prior_path(preset: str) -> Path:
    """``$GASP_DATA_ROOT/<preset>/prior/prior.safetensors`` (default data root: ``<project>/data``), where the
    ``gaussian_prior`` asset writes it."""
    root = os.environ.get("GASP_DATA_ROOT") or str(Path(__file__).resolve().parents[2] / "data")
    return Path(root) / preset / "prior" / "prior.safetensors"


def enroll(source, out_dir, head, prior, config: FitConfig, *, setting: str | None = None,
           image_size: int | None = None, device=None, subject: str = "", consent: str = "unknown",
           owner: str = "", fp16: bool = False, log: Callable[[str], None] | None = None,
           progress: bool = True, capture: dict | None = None, mode: str | None = None, encoder=None,
           figures: bool = True, timings: dict | None = None) -> dict:
    """Photo / video / frames folder -> avatar file and figures in ``out_dir`` (see ``write_fit_outputs``).

    mode / encoder: enrolment mode (``gasp_ops.encoder.modes``: instant | fast | full) and its encoder; None = the
    paper's fit from the mean code. figures: False = avatar file and fit.json only. timings: a dict that receives
    the wall seconds of "preprocess" (photo -> tracked frames), "fit" and "outputs" (files, figures, the swap).

    The whole result (preprocessed frames included) is written as one unit: ``out_dir`` is locked (a second enrol
    into it fails at once), everything goes to a staging folder beside it, which replaces ``out_dir`` only when
    complete; an error or a kill leaves the previous ``out_dir`` as it was."""
    import time

    from gasp_ops.encoder.modes import fit_with_mode
    from gasp_ops.io.staged_dir import retarget, staged_directory

    out = Path(out_dir)
    timings = {} if timings is None else timings
    t0 = time.perf_counter()
    with staged_directory(out) as stage:
        inputs = load_inputs(source, head, stage / "preprocessed", setting=setting, image_size=image_size, log=log,
                             capture=capture)
        inputs.source = inputs.source.replace(str(stage), str(out))  # where the frames will be, for provenance
        t1 = time.perf_counter()
        result = fit_with_mode(prior, head, inputs, config, mode=mode, encoder=encoder, device=device, log=log,
                               progress=progress)
        t2 = time.perf_counter()
        written = write_fit_outputs(stage, result, on_cpu(head), inputs, subject=subject, consent=consent,
                                    owner=owner, fp16=fp16, figures=figures)
    timings.update(preprocess=t1 - t0, fit=t2 - t1, outputs=time.perf_counter() - t2)
    return retarget(written, stage, out)
