"""Train an encoder for a trained prior file from the prior's synthetic dataset folder and write its outputs
(used by ``gasp train-encoder`` and ``benchmarks/gpu_train_encoder.py``).

Outputs in ``out_dir``: encoder_checkpoint.safetensors (resumable), encoder_best_state.safetensors (with
``val_every``), encoder.safetensors (the encoder, fp16 + metadata: config, summary, prior fingerprint and SHA-256),
encoder_curves.png (training code loss and held-out code error), encoder_summary.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np

from gasp_ops.encoder.checkpoint import ENCODER_NAME, file_sha256, save_encoder
from gasp_ops.encoder.config import EncoderConfig
from gasp_ops.encoder.evaluate import code_errors, novel_view_report
from gasp_ops.encoder.train import EncoderTrainResult, train_encoder
from gasp_ops.errors import GaspInputError
from gasp_ops.io.atomic import atomic_path, write_text_atomic
from gasp_ops.prior.dataset_batches import PriorViews


def open_prior_views(prior_meta: dict, dataset_root, prior_path="prior") -> PriorViews:
    """The prior's training views (its n_subjects, image_size and holdout_views), so view subject j is the prior's
    code j; checked against the identity ids the prior file records."""
    from gasp_ops.prior.config import PriorConfig
    from gasp_ops.prior.run import open_training_views

    if "config" not in prior_meta:
        raise GaspInputError(str(prior_path), "the prior file has no training config in its metadata")
    views = open_training_views(dataset_root, PriorConfig.from_dict(prior_meta["config"]))
    ids = prior_meta.get("identity_ids")
    if ids and list(map(str, ids)) != list(map(str, views.identity_ids)):
        raise GaspInputError(str(dataset_root), f"its first {len(views.identity_ids)} identities are not the ones the "
                             f"prior {prior_path} was trained on")
    return views


def evaluation_report(result: EncoderTrainResult, prior, views: PriorViews, head, device=None,
                      max_train_subjects: int = 64, proxy_views: PriorViews | None = None) -> dict:
    """Held-out code errors (single frames, every view; pooled ``max_frames`` views), the same on up to
    ``max_train_subjects`` training identities (4 views each, for the generalisation gap) and novel-view PSNR; with
    ``proxy_views`` (the people without codes it trained on) the novel-view PSNR of its held-out ones too."""
    model = result.model
    report: dict = {"train_subjects": len(result.train_subjects), "val_subjects": len(result.val_subjects)}

    def guarded(name, fn):  # a failing measurement is reported, never loses the trained encoder
        try:
            report[name] = fn()
        except Exception as exc:  # noqa: BLE001
            report[name] = f"unavailable: {type(exc).__name__}: {exc}"

    if result.val_subjects:
        val = result.val_subjects
        guarded("val_single", lambda: code_errors(model, prior, views, head, val, 1, device))
        guarded("val_multi", lambda: code_errors(model, prior, views, head, val, model.config.max_frames, device))
        guarded("val_novel_view", lambda: novel_view_report(model, prior, views, head, val, device))
    else:
        report["val"] = "unavailable: val_fraction = 0 (no identity held out)"
    guarded("train_single", lambda: code_errors(model, prior, views, head, result.train_subjects[:max_train_subjects],
                                                1, device, max_views=4))
    if proxy_views is not None and result.proxy_val_subjects:
        guarded("proxy_val_novel_view", lambda: novel_view_report(model, prior, proxy_views, head,
                                                                  result.proxy_val_subjects, device,
                                                                  with_prior_code=False))
    return report


def plot_encoder_curves(history: dict, path) -> Path:
    """Training code loss (and render loss when used) and the held-out code error, log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.4), dpi=80)
    steps = np.asarray(history.get("step", []))
    for name in ("code", "render", "proxy"):
        vals = np.asarray(history.get(name, []), float)
        if vals.size == steps.size and vals.size and np.any(vals > 0):
            ax.plot(steps, vals, lw=1, label=f"train {name} loss")
    val = history.get("val", {})
    if val.get("step"):
        ax.plot(val["step"], val["code_nmse"], "o-", ms=3, lw=1, label="held-out code error")
    ax.axhline(1.0, color="grey", lw=0.8, ls="--", label="mean code (train units)")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("normalised code MSE")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return Path(path)


def write_encoder_outputs(out_dir, result: EncoderTrainResult, report: dict, *, prior_path=None,
                          dataset_root=None, extra: dict | None = None) -> dict:
    """encoder.safetensors (+ its SHA-256), encoder_curves.png and encoder_summary.json in ``out_dir``."""
    out = Path(out_dir)
    model = result.model
    summary = {
        "steps": result.step, "stopped_early": result.stopped_early, "train_seconds_this_run": result.seconds,
        "parameters": model.parameter_count(), "config": model.config.as_dict(), "report": report,
        "prior": str(prior_path) if prior_path else "", "prior_sha256": file_sha256(prior_path) if prior_path else "",
        "prior_fingerprint": model.prior_fingerprint, "dataset": str(dataset_root) if dataset_root else "",
        "val_subjects": result.val_subjects, "proxy_subjects": len(result.proxy_train_subjects),
        "proxy_val_subjects": result.proxy_val_subjects, **result.extra, **(extra or {}),
    }
    path = save_encoder(out / ENCODER_NAME, model, {"summary": summary})
    summary.update({"encoder_sha256": file_sha256(path), "encoder_bytes": path.stat().st_size})
    curves = plot_encoder_curves(result.history, out / "encoder_curves.png")
    write_text_atomic(out / "encoder_summary.json",
                      json.dumps({**summary, "history": result.history}, indent=1, default=str))
    return {**summary, "encoder_path": str(path), "curves_path": str(curves)}


def train_encoder_from_files(prior_path, dataset_root, out_dir, config: EncoderConfig, head, *, device="cpu",
                             log: Callable[[str], None] | None = None, max_seconds: float | None = None,
                             progress: bool = True, views: PriorViews | None = None, prior=None) -> dict:
    """Load the prior and its views, train (resuming from ``out_dir``), evaluate, write; returns the summary."""
    from gasp_ops.prior.checkpoint import load_prior

    log = log or (lambda msg: None)
    prior_meta = {}
    if prior is None:
        prior, prior_meta = load_prior(prior_path, head, device)
    views = views if views is not None else open_prior_views(prior_meta, dataset_root, prior_path)
    log(f"encoder: {views.num_subjects} identities, {len(views)} views at {views.image_size[0]} px, crops "
        f"{config.crop_size} px")
    result = train_encoder(prior, views, config, head, out_dir, device=device, log=log, max_seconds=max_seconds,
                           progress=progress)
    report = evaluation_report(result, prior, views, head, device)
    return write_encoder_outputs(out_dir, result, report, prior_path=prior_path, dataset_root=dataset_root)
