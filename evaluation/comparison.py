"""GASP vs the no-prior baselines on one subject in one setting (GASP §6, Tabs. 1-2): fit every method on the
setting's training frames with one shared ``FitConfig`` (same inputs, losses, renderer, step budget and seed), render
the evaluation frames and score them on the head region, per frame.

Evaluation frames: ``heldout="cameras"`` (Tab. 1, monocular / single image): every frame of a camera the setting
does not train on (``avatar_eval.heldout_table``); ``heldout="frames"`` (Tab. 2, multi-camera trains on every
camera): every (camera, frame) not in the training selection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from evaluation.avatar_eval import evaluate_avatar, heldout_table
from evaluation.metrics import METRICS, ROW_COLUMNS
from gasp_ops.errors import GaspInputError


@dataclass
class Comparison:
    """rows: metric rows (``ROW_COLUMNS``; ``method`` = the table label); renders: {label: [[H, W, 3], ...]} per
    evaluation frame; ground_truth: [[H, W, 3], ...] (image x matte); labels: the evaluation frames'
    "sequence/camera/frame"; frontalness: per evaluation frame (1 = facing the camera); seconds / stats per
    method label; train_frames / train_labels."""

    rows: pd.DataFrame
    renders: dict
    ground_truth: list
    labels: list
    frontalness: list
    seconds: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)
    train_frames: int = 0
    train_labels: list = field(default_factory=list)


def evaluation_rows(table: pd.DataFrame, setting: str, heldout: str) -> pd.DataFrame:
    """The frame-table rows a ``setting`` fit is scored on (see module docstring)."""
    from gasp_ops.fitting import select_setting

    if heldout == "cameras":
        return heldout_table(table, setting)
    if heldout != "frames":
        raise GaspInputError("heldout", f"must be 'cameras' or 'frames', got {heldout!r}")
    train = select_setting(table, setting)
    key = lambda t: t["camera"].astype(str) + "/" + t["frame"].astype(str)  # noqa: E731
    held = table[~key(table).isin(set(key(train)))]
    if held.empty:
        raise GaspInputError("frames", f"setting {setting!r} trains on every frame; nothing is held out")
    return held


def compare_methods(table: pd.DataFrame, root, *, subject: str, setting: str, prior, head, uv_resolution: int,
                    config, methods, image_size: int, heldout: str = "cameras", max_train_frames: int | None = None,
                    max_eval_frames: int | None = None, metrics=METRICS, embedder=None, device="cpu",
                    log=None) -> Comparison:
    """Fit and score every method in ``methods`` (keys of ``gasp_ops.fitting.baselines.METHOD_LABELS``) on one
    subject's frame table (``root``: the folder its image paths are relative to)."""
    from gasp_ops.fitting import from_frame_table
    from gasp_ops.fitting.baselines import METHOD_LABELS, fit_method
    from gasp_ops.fitting.inputs import camera_frontalness

    log = log or (lambda msg: None)
    select = {"max_frames": max_train_frames} if max_train_frames else {}
    train = from_frame_table(table, root, setting=setting, image_size=image_size, **select)
    held = evaluation_rows(table, setting, heldout)
    held = held.sort_values(["camera", "frame"])
    if max_eval_frames:
        held = held.head(int(max_eval_frames))
    evals = from_frame_table(held, root, image_size=image_size)
    front = camera_frontalness(held).tolist()
    parts, renders, seconds, stats = [], {}, {}, {}
    for method in methods:
        label = METHOD_LABELS[method]
        log(f"{subject}/{setting}: fitting {label} on {len(train)} frame(s)")
        result = fit_method(method, prior, head, train, config, uv_resolution=uv_resolution, device=device, log=log)
        seconds[label] = round(float(sum(result.seconds.values())), 2)
        stats[label] = {**result.stats, "steps": result.steps, "lpips": result.lpips}
        rows, preds = evaluate_avatar(result.avatar, train.identity, head, evals, subject=subject, setting=setting,
                                      method=label, metrics=tuple(metrics), embedder=embedder, device=device)
        parts.append(rows)
        renders[label] = preds
    gts = [(evals.images[i] * evals.mattes[i, ..., None]).cpu() for i in range(len(evals))]
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=ROW_COLUMNS)
    return Comparison(rows=rows, renders=renders, ground_truth=gts, labels=list(evals.labels), frontalness=front,
                      seconds=seconds, stats=stats, train_frames=len(train), train_labels=list(train.labels))


def write_comparison(comp: Comparison, out_dir, max_cameras: int = 4, title: str = "") -> dict[str, Path]:
    """metrics.parquet (rows) + contact_sheet.png (ground truth vs each method, one row per evaluation camera: its
    first frame, the ``max_cameras`` least frontal cameras) under ``out_dir``, atomically."""
    from evaluation.contact_sheet import comparison_sheet
    from evaluation.metrics import write_metric_rows
    from gasp_ops.io.images import save_png

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics = write_metric_rows(out_dir / "metrics.parquet", comp.rows)
    sheet = comparison_sheet(comp, max_cameras, title=title)
    return {"metrics": metrics, "contact_sheet": save_png(out_dir / "contact_sheet.png", sheet), "sheet": sheet}
