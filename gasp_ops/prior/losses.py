"""The prior's training loss (GASP Eq. 5-6); weights and their reasons are in ``config.LossWeights``.

L = l1 * |I - I_gt|_1 + ssim * (1 - SSIM(I, I_gt)) + lpips * LPIPS(I, I_gt) + alpha * |A - A_gt|_1
    + scale * L_scale + displacement * L_disp,
  L_scale = mean_{i,k} relu(s_ik - 2 s0_i)             (s local std-devs, s0 the initial in-plane std-dev),
  L_disp  = mean_i w_i relu(|mu_i| - 1)^2,  w_i = scalp_factor on scalp faces, 1 elsewhere (mu_i local offset).
Every term is a mean over the frames of the batch, so DDP's gradient average equals the single-process loss over
the global batch.
"""

from __future__ import annotations

import torch
from pytorch_msssim import ssim

from gasp_ops.prior.config import LossWeights


def regularisers(local: dict[str, torch.Tensor], init_log_scales: torch.Tensor, scalp: torch.Tensor,
                 scalp_factor: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(L_scale, L_disp) of per-frame local attributes (offsets [B, N, 3], log_scales [B, N, 3])."""
    s = torch.exp(local["log_scales"])
    s0 = torch.exp(init_log_scales[:, :2].max(-1).values)  # [N] initial in-plane std-dev
    l_scale = torch.relu(s - 2.0 * s0[None, :, None]).mean()
    w = torch.where(scalp, torch.full_like(s0, scalp_factor), torch.ones_like(s0))
    l_disp = (w[None] * torch.relu(local["offsets"].norm(dim=-1) - 1.0) ** 2).mean()
    return l_scale, l_disp


def image_losses(rgb: torch.Tensor, alpha: torch.Tensor, rgb_gt: torch.Tensor, alpha_gt: torch.Tensor,
                 lpips_model=None) -> dict[str, torch.Tensor]:
    """Photometric terms. rgb, rgb_gt [B, H, W, 3] composited over the same background; alpha, alpha_gt [B, H, W, 1].

    Returns {"l1", "ssim" (1 - SSIM), "lpips" (0 when lpips_model is None), "alpha", "psnr" (no gradient use)}.
    """
    x = rgb.permute(0, 3, 1, 2).float()
    y = rgb_gt.permute(0, 3, 1, 2).float()
    win = min(11, x.shape[-1] - (1 - x.shape[-1] % 2), x.shape[-2] - (1 - x.shape[-2] % 2))
    out = {
        "l1": (x - y).abs().mean(),
        "ssim": 1.0 - ssim(x, y, data_range=1.0, size_average=True, win_size=win),
        "lpips": lpips_model(x, y) if lpips_model is not None else x.new_zeros(()),
        "alpha": (alpha.float() - alpha_gt.float()).abs().mean(),
    }
    with torch.no_grad():
        mse = ((x - y) ** 2).flatten(1).mean(1).clamp_min(1e-10)
        out["psnr"] = (-10.0 * torch.log10(mse)).mean()
    return out


def total_loss(terms: dict[str, torch.Tensor], w: LossWeights) -> torch.Tensor:
    return (w.l1 * terms["l1"] + w.ssim * terms["ssim"] + w.lpips * terms["lpips"] + w.alpha * terms["alpha"]
            + w.scale * terms["scale"] + w.displacement * terms["displacement"])
