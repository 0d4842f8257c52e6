"""The prior regulariser L_prior (GASP §3.5): distance of every Gaussian attribute to its value after stage 1."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gasp_ops.avatar import ATTRIBUTES


def prior_regulariser(local: dict[str, torch.Tensor], target: dict[str, torch.Tensor], weights,
                      per_gaussian: torch.Tensor | None = None, only: tuple[str, ...] | None = None) -> torch.Tensor:
    """sum_a w_a * mean |local[a] - target[a]|^2 over Gaussians and components.

    local, target: {attribute: [N, ...]} local attributes (target detached: the avatar after stage 1); weights: a
    ``PriorRegWeights``. Quaternions are normalised and sign-aligned first (q and -q are the same rotation).
    per_gaussian: optional [N] factors g_i, each Gaussian's squared distance multiplied by g_i before the mean.
    only: restrict the sum to these attributes (default: all five).
    """
    total = None
    for name in ATTRIBUTES:
        w = float(getattr(weights, name))
        if w == 0.0 or (only is not None and name not in only):
            continue
        a, b = local[name], target[name].detach().to(local[name].dtype)
        if name == "quats":
            a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
            b = b * torch.sign((a.detach() * b).sum(-1, keepdim=True) + 1e-12)
        sq = (a - b) ** 2
        if per_gaussian is not None:
            sq = sq * per_gaussian.to(sq).reshape(-1, *([1] * (sq.ndim - 1)))
        term = w * sq.mean()
        total = term if total is None else total + term
    return total if total is not None else local["offsets"].new_zeros(())
