"""Time vs quality of enrolment (issue 17): novel-view metrics of avatars fitted with growing step budgets, from the
encoder's code (0 steps = instant mode) and from the mean code, with the wall time of each.

Protocol = Tab. 1's (``evaluation.comparison``): a subject's frame table, a setting's training frames
(``select_setting``), evaluation on the frames of the cameras the setting does not train on
(``evaluation_rows(..., "cameras")``), metrics on the head region (``evaluation.metrics``). A budget of N steps
is split over the three stages in the proportions of the base ``FitConfig`` (paper 500 / 500 / 100 -> N x 5/11,
5/11, 1/11). Wall time: encoder (crops + network) + fit (or decode) for one subject, tracking excluded (the frames
are preprocessed); on CUDA synchronised.

Rows (``ROWS``): one per evaluation frame and metric, plus subject, setting, init, steps, seconds, device.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import torch

from evaluation.metrics import ROW_COLUMNS
from gasp_ops.fitting.config import FitConfig

ROWS = ROW_COLUMNS + ["init", "steps", "seconds", "device"]
STAGES = ("steps_inversion", "steps_decoder", "steps_refine")


def budget_config(config: FitConfig, steps: int, init: str) -> FitConfig:
    """``config`` with ``steps`` optimiser steps split over the stages in its own proportions, starting at ``init``."""
    base = [getattr(config, k) for k in STAGES]
    total = sum(base) or 1
    s3 = round(steps * base[2] / total)
    s2 = round(steps * base[1] / total)
    return config.replace(init=init, steps_inversion=steps - s2 - s3, steps_decoder=s2, steps_refine=s3)


def method_label(init: str, steps: int) -> str:
    if init == "encoder":
        return "instant (encoder)" if steps == 0 else f"encoder + {steps} steps"
    return f"mean code + {steps} steps"


def run_point(prior, encoder, head, train, evals, config: FitConfig, *, subject: str, setting: str, init: str,
              steps: int, metrics, embedder=None, device="cpu", log=None) -> pd.DataFrame:
    """Fit one budget from one init and score it; rows as ``ROWS``."""
    from evaluation.avatar_eval import evaluate_avatar
    from gasp_ops.encoder.modes import fit_with_mode

    dev = torch.device(device)
    cfg = budget_config(config, steps, init)
    mode = "instant" if (init == "encoder" and steps == 0) else None
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    t0 = time.perf_counter()
    result = fit_with_mode(prior, head, train, cfg, mode=mode, encoder=encoder if init == "encoder" else None,
                           device=dev, log=log)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    seconds = time.perf_counter() - t0
    label = method_label(init, steps)
    rows, _ = evaluate_avatar(result.avatar, train.identity, head, evals, subject=subject, setting=setting,
                              method=label, metrics=tuple(metrics), embedder=embedder, device=dev)
    device_name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    return rows.assign(init=init, steps=int(steps), seconds=float(seconds), device=device_name)[ROWS]


def time_vs_quality(tables: list, prior, encoder, head, config: FitConfig, *, settings=("single_image", "monocular"),
                    budgets=(0, 50, 100, 300, 1100), inits=("encoder", "mean"), image_size: int = 256,
                    max_eval_frames: int | None = 16, max_train_frames: int | None = None,
                    metrics=("psnr", "ssim", "id_sim"), embedder=None, device="cpu", log=None) -> pd.DataFrame:
    """Every (subject table, setting, init, budget) point; ``tables``: frames.parquet paths (one subject each)."""
    from evaluation.comparison import evaluation_rows
    from gasp_ops.fitting import from_frame_table
    from gasp_ops.io.tables import read_parquet

    log = log or (lambda m: None)
    parts = []
    for path in tables:
        path = Path(path)
        table = read_parquet(path)
        subject = str(table["subject"].iloc[0]) if "subject" in table else path.parent.name
        for setting in settings:
            select = {"max_frames": max_train_frames} if max_train_frames else {}
            train = from_frame_table(table, path.parent, setting=setting, image_size=image_size, **select)
            held = evaluation_rows(table, setting, "cameras").sort_values(["camera", "frame"])
            if max_eval_frames:
                held = held.head(int(max_eval_frames))
            evals = from_frame_table(held, path.parent, image_size=image_size)
            for init in inits:
                for steps in budgets:
                    rows = run_point(prior, encoder, head, train, evals, config, subject=subject, setting=setting,
                                     init=init, steps=int(steps), metrics=metrics, embedder=embedder, device=device)
                    psnr = rows[rows.metric == "psnr"].value.mean()
                    log(f"{subject}/{setting} {method_label(init, steps)}: {rows.seconds.iloc[0]:.2f} s, "
                        f"PSNR {psnr:.2f} dB")
                    parts.append(rows)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=ROWS)


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean value per (setting, init, steps, metric) over subjects and frames (NaN = unavailable frames skipped),
    with the mean wall time and the frame count."""
    keys = ["device", "setting", "init", "steps", "metric"]
    g = rows.groupby(keys, sort=True)
    out = g.agg(value=("value", "mean"), frames=("value", "count"), seconds=("seconds", "mean")).reset_index()
    return out.sort_values(["device", "setting", "metric", "init", "steps"]).reset_index(drop=True)


def plot_time_quality(summary: pd.DataFrame, path, metrics=("psnr", "ssim", "id_sim")) -> Path:
    """One panel per metric: value vs wall time (log x), a line per (setting, init), points labelled by steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gasp_ops.io.atomic import atomic_path

    shown = [m for m in metrics if m in set(summary.metric) and summary[summary.metric == m].value.notna().any()]
    shown = shown or ["psnr"]
    fig, axes = plt.subplots(1, len(shown), figsize=(4.6 * len(shown), 3.6), dpi=90, squeeze=False)
    for ax, metric in zip(axes[0], shown):
        part = summary[summary.metric == metric]
        for (device, setting, init), line in part.groupby(["device", "setting", "init"]):
            line = line.sort_values("steps")
            ax.plot(line.seconds.clip(lower=1e-3), line.value, "o-" if init == "encoder" else "s--", ms=4, lw=1,
                    label=f"{setting}, {init} init")
            for row in line.itertuples():
                ax.annotate(str(row.steps), (max(row.seconds, 1e-3), row.value), fontsize=6,
                            textcoords="offset points", xytext=(2, 3))
        ax.set_xscale("log")
        ax.set_xlabel("wall time per subject (s)")
        ax.set_title({"psnr": "PSNR (dB)", "ssim": "SSIM", "id_sim": "ID-SIM"}.get(metric, metric), fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    fig.suptitle(f"enrolment time vs novel-view quality ({', '.join(sorted(set(summary.device)))}; numbers = steps)",
                 fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return Path(path)


def markdown_table(summary: pd.DataFrame) -> str:
    """Setting x init x steps rows, one column per metric, plus seconds."""
    wide = summary.pivot_table(index=["device", "setting", "init", "steps"], columns="metric", values="value")
    secs = summary.groupby(["device", "setting", "init", "steps"]).seconds.mean()
    wide = wide.assign(seconds=secs).reset_index()
    cols = list(wide.columns)
    lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    for row in wide.itertuples(index=False):
        lines.append("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row) + " |")
    return "\n".join(lines) + "\n"
