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


def demo_avatar(head, uv_resolution: int) -> GaussianAvatar:
    """[N] Gaussians (N = the binding's count at ``uv_resolution``; 558 -> 188,102 on the procedural head)."""
    topo = head.topology
    rest = head.template.detach().float().cpu()
    base = GaussianAvatar.from_binding(topo, uv_binding(topo, uv_resolution), rest)
    base.colors = shaded_region_colors(rest, topo.faces, topo.face_regions, base.face_ids).float()
    return base


def write_demo_avatar(path, head, uv_resolution: int) -> Path:
    """Save ``demo_avatar`` as an avatar file (identity zeros = the mean head)."""
    return save_avatar_file(path, demo_avatar(head, uv_resolution), torch.zeros(head.n_identity), head,
                            subject="demo", consent="synthetic", note="demo: rest mesh bound at UV "
                            f"{uv_resolution}, region colours", created_utc="2026-01-01T00:00:00+00:00")
