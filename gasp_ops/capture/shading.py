"""Shading-aware photometric model for tracking: observed colour = per-vertex albedo x low-order lighting.

Colour consistency with one colour per vertex assumes the head's shading never changes. Under a key light it
does: a puffed cheek or a pushed-out jaw turns the skin's normals, which changes its brightness from frame to
frame. Modelling that change (``ShadingModel``) removes a bias of the plain consistency loss and turns the
normals - the part of an expression that shifts the skin along its normal without moving its texture - into a
cue.

Lighting: second-order real spherical harmonics of the world-space normal (9 coefficients per RGB channel,
optimised with the tracking parameters; starts as pure ambient, i.e. the plain consistency model). Albedo: the
closed-form least-squares solution per vertex given the shading (variable projection), so only 27 lighting
numbers are added to the optimisation.
"""

from __future__ import annotations

import torch


def sh_basis(normals: torch.Tensor) -> torch.Tensor:
    """Second-order real spherical-harmonic basis [..., 9] (unnormalised constants) of unit normals [..., 3]."""
    x, y, z = normals.unbind(-1)
    one = torch.ones_like(x)
    return torch.stack([one, x, y, z, x * y, y * z, x * z, x * x - y * y, 3 * z * z - 1], -1)


class ShadingModel(torch.nn.Module):
    """``lighting`` [9, 3] (SH coefficients per RGB channel, world frame); ``predict`` returns the modelled
    colours of the observations given the normals."""

    def __init__(self):
        super().__init__()
        init = torch.zeros(9, 3)
        init[0] = 1.0
        self.lighting = torch.nn.Parameter(init)

    def shading(self, normals: torch.Tensor) -> torch.Tensor:
        """Shading [T, V, 3] (>= 0.05) of unit normals [T, V, 3]."""
        return (sh_basis(normals) @ self.lighting).clamp_min(0.05)

    def predict(self, colours: torch.Tensor, weights: torch.Tensor, normals: torch.Tensor,
                dims: tuple = (0, 1)) -> torch.Tensor:
        """Modelled colours [T, C, V, 3] for observed colours [T, C, V, 3] with weights [T, C, V, 1] (visibility)
        and normals [T, V, 3]: shading x the weighted least-squares albedo per vertex (pooled over ``dims``:
        (0, 1) = one albedo over every frame and view, (1,) = per frame)."""
        s = self.shading(normals)[:, None]  # [T, 1, V, 3], the same for every camera (Lambertian)
        s = s.expand_as(colours)
        num = (weights * colours * s).sum(dims, keepdim=True)
        den = (weights * s * s).sum(dims, keepdim=True)
        albedo = num / den.clamp_min(1e-6)
        return albedo * s
