"""Rendering a trained prior's training identities: held-out PSNR, decoded-vs-template comparison, image grids."""

from __future__ import annotations

import torch

from gasp_ops.headmodel.base import HeadModel
from gasp_ops.prior.dataset_batches import PriorViews
from gasp_ops.avatar import pose_attributes
from gasp_ops.prior.prior_model import GaussianPrior
from gasp_ops.render.render import render


@torch.no_grad()
def render_views(model: GaussianPrior, views: PriorViews, idx, head: HeadModel, template_only: bool = False,
                 codes: torch.Tensor | None = None, chunk: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """Render views ``idx`` [K] as decoded by the prior (or by the template alone, or with codes [K, Z] instead of
    the subjects' own) over black. Returns (rgb [K, H, W, 3], alpha [K, H, W, 1]) on the CPU."""
    device = model.features.device
    idx = torch.as_tensor(idx, dtype=torch.long)
    rgbs, alphas = [], []
    for start in range(0, len(idx), chunk):
        sel = idx[start:start + chunk]
        batch = views.gather(sel, device)
        vertices = head.to(device)(batch.identity, batch.expression, batch.pose)
        if template_only:
            attrs = {k: v[None].expand(len(sel), *v.shape) for k, v in model.template().items()}
        elif codes is not None:
            attrs = model.decode_codes(codes[start:start + chunk].to(device))
        else:
            attrs = model.decode(batch.subject)
        out = render(pose_attributes(model.faces, model.face_ids, model.barycentrics, attrs, vertices), batch.cameras)
        rgbs.append(out.rgb.float().cpu())
        alphas.append(out.alpha.float().cpu())
    return torch.cat(rgbs), torch.cat(alphas)


def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR (dB) of [K, H, W, C] images in [0, 1]."""
    mse = ((pred.float() - target.float()) ** 2).flatten(1).mean(1).clamp_min(1e-10)
    return -10.0 * torch.log10(mse)


@torch.no_grad()
def reconstruction_report(model: GaussianPrior, views: PriorViews, head: HeadModel, idx=None) -> dict:
    """Mean PSNR and L1 over views ``idx`` (default: the held-out views, else all) for the decoded identities and
    for the canonical template alone, both over black against the premultiplied targets."""
    if idx is None:
        idx = views.heldout_indices() if len(views.heldout_indices()) else torch.arange(len(views))
    target = views.gather(idx).rgb
    dec, _ = render_views(model, views, idx, head)
    tpl, _ = render_views(model, views, idx, head, template_only=True)
    return {"views": int(len(idx)), "psnr_decoded": float(psnr(dec, target).mean()),
            "psnr_template": float(psnr(tpl, target).mean()), "l1_decoded": float((dec - target).abs().mean()),
            "l1_template": float((tpl - target).abs().mean())}


@torch.no_grad()
def identity_grid(model: GaussianPrior, views: PriorViews, head: HeadModel, max_subjects: int = 8):
    """Contact sheet (uint8) of training identities: rows = subjects, columns = ground truth, decoded, template,
    for each subject's first held-out view (its first view when none is held out)."""
    from gasp_ops.viz.contact_sheet import contact_sheet

    picks, labels = [], []
    held = views.heldout_indices()
    subject = views.subject.cpu()
    for s in range(min(views.num_subjects, max_subjects)):
        mine = held[subject[held] == s] if len(held) else torch.nonzero(subject == s).flatten()
        if len(mine) == 0:
            mine = torch.nonzero(subject == s).flatten()
        picks.append(int(mine[0]))
        labels.append(str(views.identity_ids[s]))
    idx = torch.tensor(picks)
    gt = views.gather(idx).rgb
    dec, _ = render_views(model, views, idx, head)
    tpl, _ = render_views(model, views, idx, head, template_only=True)
    rows = [[gt[k].numpy(), dec[k].numpy(), tpl[k].numpy()] for k in range(len(picks))]
    return contact_sheet(rows, row_labels=labels, col_labels=["ground truth", "decoded", "template"])
