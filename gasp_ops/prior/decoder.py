"""The prior's MLP decoder D(f_i, z_j) (GASP Appendix C).

Input: the concatenation [f_i, z_j] of an 8-d per-Gaussian feature and a 512-d identity code (520 values). Trunk:
``trunk_layers`` (6) Linear(256) + ReLU. Then five branches, one per Gaussian attribute (position 3, scale 3,
rotation 4, colour 3, opacity 1), each Linear(256) + ReLU followed by a linear projection. Every Linear is
weight-normalised (``torch.nn.utils.parametrizations.weight_norm``). The projections start at zero (weights and
biases), so an untrained decoder outputs exactly zero and the avatar starts at the canonical template.

The first layer is split: W [256, 520] = [W_f | W_z], so W [f; z] + b = W_f f + (W_z z + b). ``W_z z + b`` is
computed once per identity (``identity_bias``) instead of once per Gaussian; ``forward_concat`` is the naive
concatenation, kept to test the equivalence.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

#: Decoder branches and their output widths, in the avatar's attribute order.
BRANCHES: dict[str, int] = {"offsets": 3, "log_scales": 3, "quats": 4, "colors": 3, "opacity_logits": 1}


def _wn_linear(n_in: int, n_out: int, zero: bool = False) -> nn.Module:
    layer = nn.Linear(n_in, n_out)
    if zero:
        nn.init.zeros_(layer.weight)
        nn.init.zeros_(layer.bias)
        # weight_norm of a zero matrix: g = 0 and a direction v that must not be zero (0/0); give v a small random
        # direction and g = 0, so the output is exactly zero but g and v both receive gradients.
        module = weight_norm(layer)
        with torch.no_grad():
            module.parametrizations.weight.original1.copy_(torch.randn(n_out, n_in) * (1.0 / n_in**0.5))
            module.parametrizations.weight.original0.zero_()
        return module
    return weight_norm(layer)


class PriorDecoder(nn.Module):
    """D: (features [N, F], codes [J, Z]) -> per-identity attribute outputs {name: [J, N, width]}."""

    def __init__(self, feature_dim: int = 8, code_dim: int = 512, hidden: int = 256, trunk_layers: int = 6):
        super().__init__()
        self.feature_dim, self.code_dim, self.hidden = feature_dim, code_dim, hidden
        self.first = _wn_linear(feature_dim + code_dim, hidden)
        self.trunk = nn.ModuleList(_wn_linear(hidden, hidden) for _ in range(trunk_layers - 1))
        self.branch_hidden = nn.ModuleDict({k: _wn_linear(hidden, hidden) for k in BRANCHES})
        self.branch_out = nn.ModuleDict({k: _wn_linear(hidden, w, zero=True) for k, w in BRANCHES.items()})

    def first_weight(self) -> torch.Tensor:
        """The (weight-normalised) first-layer weight [hidden, F + Z]."""
        return self.first.weight

    def identity_bias(self, codes: torch.Tensor) -> torch.Tensor:
        """W_z z + b for each code: codes [J, Z] -> [J, hidden]."""
        w = self.first_weight()
        return codes @ w[:, self.feature_dim:].T + self.first.bias

    def _heads(self, h: torch.Tensor) -> dict[str, torch.Tensor]:
        for layer in self.trunk:
            h = torch.relu(layer(h))
        return {k: self.branch_out[k](torch.relu(self.branch_hidden[k](h))) for k in BRANCHES}

    def forward(self, features: torch.Tensor, codes: torch.Tensor) -> dict[str, torch.Tensor]:
        """features [N, F], codes [J, Z] -> {attribute: [J, N, width]} (opacity_logits has width 1)."""
        w = self.first_weight()
        per_gaussian = features @ w[:, : self.feature_dim].T  # [N, hidden], shared by all identities
        h = torch.relu(per_gaussian[None] + self.identity_bias(codes)[:, None])  # [J, N, hidden]
        return self._heads(h)

    def forward_concat(self, features: torch.Tensor, codes: torch.Tensor) -> dict[str, torch.Tensor]:
        """The naive form: concatenate [f_i, z_j] for every (j, i) and apply the first layer (for tests)."""
        J, N = codes.shape[0], features.shape[0]
        x = torch.cat([features[None].expand(J, N, -1), codes[:, None].expand(J, N, -1)], dim=-1)
        return self._heads(torch.relu(self.first(x)))
