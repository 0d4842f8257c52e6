"""Scoring an encoder on held-out identities: code error (normalised units) and novel-view renders through the prior.

Both compare against predicting the mean code (the encoder's starting point, and the prior fit's stage-1 start
without noise) and, for renders, against the prior's own code of the identity (what a perfect encoder would give).
"""

from __future__ import annotations

import torch

from gasp_ops.encoder.crop import spread_frames, view_crops
from gasp_ops.encoder.model import IdentityEncoder
from gasp_ops.encoder.subjects import views_by_subject
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.prior.dataset_batches import PriorViews


@torch.no_grad()
def code_errors(model: IdentityEncoder, prior, views: PriorViews, head: HeadModel, subjects, frames: int = 1,
                device=None, chunk: int = 64, max_views: int | None = None) -> dict:
    """Held-out code error of ``subjects`` in normalised units (mean over dims of (u_pred - u_true)^2).

    frames = 1: every view of each subject (at most ``max_views``) encoded alone; frames > 1: one prediction per
    subject from ``frames`` views spread over its views. Also the error of predicting the mean code (the encoder's
    starting point) and their ratio (the share of the code variance left unexplained)."""
    dev = torch.device(device) if device is not None else model.code_mean.device
    head = head.to(dev)
    model = model.to(dev).eval()
    per_subject = views_by_subject(views)
    groups = []  # (subject, view indices)
    for s in subjects:
        mine = per_subject[int(s)]
        if frames == 1:
            groups += [(int(s), mine[k:k + 1]) for k in range(min(len(mine), max_views or len(mine)))]
        else:
            groups.append((int(s), mine[spread_frames(len(mine), frames)]))
    if not groups:
        return {"items": 0, "frames": frames, "code_nmse": float("nan"), "mean_code_nmse": float("nan"),
                "ratio": float("nan")}
    codes = prior.codes.detach().to(dev)
    err, base = [], []
    per = max(1, chunk // max(frames, 1))
    for start in range(0, len(groups), per):
        part = groups[start:start + per]
        k = min(len(g[1]) for g in part)
        idx = torch.stack([g[1][:k] for g in part])
        subj = torch.tensor([g[0] for g in part], device=dev)
        size = model.config.crop_size
        crops = view_crops(views, idx.reshape(-1), head, model.config, dev).reshape(len(part), k, 4, size, size)
        u = model.forward_normalised(crops, None, views.identity_coeffs.to(dev)[subj])
        target = model.normalise(codes[subj])
        err.append(((u - target) ** 2).mean(1).cpu())
        base.append((target ** 2).mean(1).cpu())
    e, b = float(torch.cat(err).mean()), float(torch.cat(base).mean())
    return {"items": len(groups), "frames": frames, "code_nmse": e, "mean_code_nmse": b,
            "ratio": e / b if b > 0 else float("nan")}


@torch.no_grad()
def novel_view_report(model: IdentityEncoder, prior, views: PriorViews, head: HeadModel, subjects, device=None,
                      max_subjects: int = 64, with_prior_code: bool = True) -> dict:
    """Encode each subject's first view alone, render its last view (a different camera and expression) with the
    predicted code, the prior's own code (``with_prior_code``: only for the prior's own identities) and the mean
    code; mean PSNR (dB, over black) against the ground truth."""
    from gasp_ops.prior.evaluate import psnr, render_views

    dev = torch.device(device) if device is not None else model.code_mean.device
    per_subject = views_by_subject(views)
    chosen = [int(s) for s in subjects if len(per_subject[int(s)]) >= 2][:max_subjects]
    if not chosen:
        return {"subjects": 0}
    src = torch.stack([per_subject[s][0] for s in chosen])
    dst = torch.stack([per_subject[s][-1] for s in chosen])
    crops = view_crops(views, src, head.to(dev), model.config, dev)[:, None]
    subj = torch.tensor(chosen, device=dev)
    pred = model.to(dev).eval()(crops, None, views.identity_coeffs.to(dev)[subj]).float()
    mean = model.code_mean[None].expand(len(chosen), -1)
    target = views.gather(dst).rgb
    out = {"subjects": len(chosen)}
    named = [("encoder", pred), ("mean_code", mean)]
    if with_prior_code:
        named.insert(1, ("prior_code", prior.codes.detach()[subj.to(prior.codes.device)].float()))
    for name, codes in named:
        rgb, _ = render_views(prior, views, dst, head, codes=codes.to(prior.features.device))
        out[f"psnr_{name}"] = float(psnr(rgb, target).mean())
    return out
