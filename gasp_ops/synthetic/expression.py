"""``sample_expression``: a random, plausible facial expression and a small head pose for one frame."""

from __future__ import annotations

import math
import numbers

import torch

from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.headmodel.pose import HeadPose
from gasp_ops.seeding import generator

#: Named actions that are mutually exclusive in one frame (the later of a pair is dropped).
_EXCLUSIVE = (("lip_funnel", "mouth_stretch"), ("lip_pucker", "mouth_stretch"), ("eye_wide", "eye_squint"),
              ("brow_lower", "brow_inner_raise"), ("mouth_left", "mouth_right"), ("cheek_puff", "cheek_suck"))


def sample_expression(index: int, seed: int, head: HeadModel, active_prob: float = 0.2,
                      max_neck_deg: float = 6.0, max_root_deg: float = 3.0,
                      max_jaw_rad: float = 0.3) -> tuple[torch.Tensor, HeadPose]:
    """Expression coefficients [n_expression] and a ``HeadPose`` (batch 1) for frame ``index`` of dataset ``seed``.

    Sparse-ish: each component is active with probability ``active_prob``. Heads with named action blendshapes
    (``expression_names``, e.g. the procedural head; coefficient 1 = full action) get activations in [0, 0.9]
    with paired blinks and exclusive pairs resolved; PCA bases (FLAME) get N(0, 0.8^2) on the active components.
    Jaw opening: half of the frames, uniform in [0, max_jaw_rad]. Neck and root rotations: uniform, a few
    degrees (``max_neck_deg`` / ``max_root_deg`` per axis). No translation, eyes at rest.
    """
    if isinstance(index, bool) or not isinstance(index, numbers.Integral) or index < 0:
        raise GaspInputError("index", f"must be an integer >= 0, got {index!r}")
    if not 0.0 <= float(active_prob) <= 1.0:
        raise GaspInputError("active_prob", f"must be in [0, 1], got {active_prob!r}")
    g = generator(seed, "synthetic_expression", index)
    n = head.n_expression
    active = torch.rand(n, generator=g) < active_prob
    mag = torch.rand(n, generator=g)
    gauss = torch.randn(n, generator=g)
    u = torch.rand(12, generator=g)
    names = getattr(head, "expression_names", None)
    if names is not None and len(names) == n:
        expr = torch.where(active, 0.15 + 0.75 * mag, torch.zeros(n))
        idx = {name: i for i, name in enumerate(names)}
        if "blink_left" in idx and "blink_right" in idx and u[0] < 0.7:  # blinks are usually symmetric
            expr[idx["blink_right"]] = expr[idx["blink_left"]]
        if "smile_left" in idx and "smile_right" in idx and u[1] < 0.7:
            expr[idx["smile_right"]] = expr[idx["smile_left"]]
        for a, b in _EXCLUSIVE:
            if a in idx and b in idx and expr[idx[a]] > 0:
                expr[idx[b]] = 0.0
    else:
        expr = torch.where(active, 0.8 * gauss, torch.zeros(n))
    pose = HeadPose.zeros(1)
    if u[2] < 0.5:
        pose.jaw[0, 0] = max_jaw_rad * u[3]
    neck = math.radians(max_neck_deg) * (2 * u[4:7] - 1)
    root = math.radians(max_root_deg) * (2 * u[7:10] - 1)
    pose.neck[0] = neck
    pose.rotation[0] = root
    dtype = head.template.dtype
    device = head.template.device
    return expr.to(device=device, dtype=dtype), pose.to(device=device, dtype=dtype)


def sample_expressions(indices, seed: int, head: HeadModel, **kw) -> tuple[torch.Tensor, HeadPose]:
    """``sample_expression`` for several frames: expressions [K, n_expression] and a ``HeadPose`` of batch K."""
    items = [sample_expression(int(i), seed, head, **kw) for i in indices]
    if not items:
        raise GaspInputError("indices", "need at least one frame")
    expr = torch.stack([e for e, _ in items])
    poses = HeadPose(**{k: torch.cat([p.as_dict()[k] for _, p in items]) for k in items[0][1].as_dict()})
    return expr, poses
