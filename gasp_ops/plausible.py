"""Range checks: finite AND plausible avatar attributes and 3DMM parameters, checked on load and before rendering.

Finite but absurd values (an expression x1e30, a log-scale of 80) render an all-white or empty video without any
error; these checks refuse them with one ``GaspInputError`` line naming the field, the worst entry and the range.
The ranges are generous (far outside anything a fit or a tracker produces) so only broken or crafted data fails:

- avatar attributes are local, in units of the bound triangle's scale: ``offsets`` within +-1000 triangles,
  ``log_scales`` in [-40, 8] (e^8 ~ 3000 triangles: metres for any head mesh), ``colors`` within +-100 (clamped to
  [0, 1] when rendered), ``opacity_logits`` within +-100 (the sigmoid saturates long before), ``quats`` with a norm
  in [1e-8, 1e8], ``barycentrics`` in [-0.01, 1.01];
- 3DMM coefficients (``expression``, ``identity``; the procedural head's actions are 0..1, FLAME's PCA weights a few
  standard deviations) within +-20; rotations (``rotation``, ``neck``, ``jaw``, ``eyes``; axis-angle, radians)
  within +-2 pi per component; ``translation`` within +-100 metres.
"""

from __future__ import annotations

import math

import torch

from gasp_ops.errors import GaspInputError

AVATAR_RANGES: dict[str, tuple[float, float]] = {
    "offsets": (-1e3, 1e3), "log_scales": (-40.0, 8.0), "colors": (-100.0, 100.0),
    "opacity_logits": (-100.0, 100.0), "barycentrics": (-0.01, 1.01),
}
QUAT_NORM_RANGE = (1e-8, 1e8)
COEFFICIENT_RANGE = (-20.0, 20.0)
ROTATION_RANGE = (-2 * math.pi, 2 * math.pi)
TRANSLATION_RANGE = (-100.0, 100.0)
POSE_RANGES = {"rotation": ROTATION_RANGE, "neck": ROTATION_RANGE, "jaw": ROTATION_RANGE, "eyes": ROTATION_RANGE,
               "translation": TRANSLATION_RANGE}


def check_range(name: str, value: torch.Tensor, lo: float, hi: float) -> None:
    """Raise ``GaspInputError(name, ...)`` unless every entry of ``value`` is finite and within [lo, hi]."""
    if not torch.is_tensor(value) or value.numel() == 0:
        return
    v = value.detach()
    if not v.is_floating_point():
        v = v.double()
    finite = torch.isfinite(v)
    if not bool(finite.all()):
        raise GaspInputError(name, f"contains {int((~finite).sum())} NaN/Inf value(s)")
    bad = (v < lo) | (v > hi)
    if bool(bad.any()):
        idx = tuple(int(i) for i in torch.nonzero(bad)[0])
        worst = float(v[idx])
        raise GaspInputError(name, f"{int(bad.sum())} value(s) outside the plausible range [{lo:g}, {hi:g}] "
                             f"(e.g. {worst:g} at {list(idx)})")


def check_avatar_ranges(avatar, source: str = "avatar") -> None:
    """Check a ``GaussianAvatar``'s attributes; messages name ``<source>: <field>``."""
    for field, (lo, hi) in AVATAR_RANGES.items():
        check_range(f"{source}: {field}", getattr(avatar, field), lo, hi)
    norms = avatar.quats.detach().float().norm(dim=-1)
    check_range(f"{source}: quats (norm)", norms, *QUAT_NORM_RANGE)


def check_3dmm_ranges(source: str, expression: torch.Tensor | None = None, pose=None,
                      identity: torch.Tensor | None = None) -> None:
    """Check expression [T, E] / identity [n_id] coefficients and a ``HeadPose``; messages name ``<source>: <field>``."""
    if expression is not None:
        check_range(f"{source}: expression", expression, *COEFFICIENT_RANGE)
    if identity is not None:
        check_range(f"{source}: identity", identity, *COEFFICIENT_RANGE)
    if pose is not None:
        for field, (lo, hi) in POSE_RANGES.items():
            check_range(f"{source}: {field}", getattr(pose, field), lo, hi)
