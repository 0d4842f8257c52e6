"""A demo avatar for the viewer's tests, screenshot and benchmarks: the head model's rest mesh bound at a UV
resolution (``GaussianAvatar.from_binding``), coloured by region with fixed lighting (``shaded_region_colors``).
No fitting, so it needs no prior and no capture; consent "synthetic"."""

from __future__ import annotations

from pathlib import Path

import torch

from gasp_ops.avatar import GaussianAvatar
from gasp_ops.avatar_file import save_avatar_file
from gasp_ops.binding.uv_init import uv_binding
from gasp_ops.viz.region_shading import shaded_region_colors


def demo_avatar(head, uv_resolution: int, jitter: float = 0.0, seed: int = 0) -> GaussianAvatar:
    """[N] Gaussians (N = the binding's count at ``uv_resolution``; 558 -> 188,102 on the procedural head).

    jitter > 0 perturbs the local attributes (offsets ~ N(0, jitter^2) triangle units, random local rotations,
    log-scales ~ +N(0, jitter^2)), so that every term of the posing maths matters (tests of renderers)."""
    topo = head.topology
    rest = head.template.detach().float().cpu()
    base = GaussianAvatar.from_binding(topo, uv_binding(topo, uv_resolution), rest)
    base.colors = shaded_region_colors(rest, topo.faces, topo.face_regions, base.face_ids).float()
    if jitter > 0:
        g = torch.Generator().manual_seed(seed)
        n = base.count
        base.offsets = jitter * torch.randn(n, 3, generator=g)
        base.quats = torch.randn(n, 4, generator=g)
        base.log_scales = base.log_scales + jitter * torch.randn(n, 3, generator=g)
    return base


def write_demo_avatar(path, head, uv_resolution: int, jitter: float = 0.0) -> Path:
    """Save ``demo_avatar`` as an avatar file (identity zeros = the mean head)."""
    return save_avatar_file(path, demo_avatar(head, uv_resolution, jitter), torch.zeros(head.n_identity), head,
                            subject="demo", consent="synthetic", note="demo: rest mesh bound at UV "
                            f"{uv_resolution}, region colours", created_utc="2026-01-01T00:00:00+00:00")
