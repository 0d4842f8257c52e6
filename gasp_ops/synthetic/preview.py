"""Contact sheets of synthetic identities (rows) from fixed views (columns): front, 3/4, side, back."""

from __future__ import annotations

import numpy as np
import torch

from gasp_ops.headmodel.base import HeadModel
from gasp_ops.headmodel.pose import HeadPose
from gasp_ops.synthetic.assets import build_assets
from gasp_ops.synthetic.cameras import fixed_cameras
from gasp_ops.synthetic.expression import sample_expressions
from gasp_ops.synthetic.identity import sample_identity
from gasp_ops.synthetic.render import render_views
from gasp_ops.viz.contact_sheet import contact_sheet

PREVIEW_AZIMUTHS = (0.0, 35.0, 90.0, 180.0)
PREVIEW_LABELS = ("front", "3/4", "side", "back")


def identity_sheet(head: HeadModel, indices, seed: int = 0, domain: str = "prior", image_size: int = 160,
                   texture_size: int = 256, elevation_deg: float = 8.0, expressions: bool = True,
                   background=0.0) -> np.ndarray:
    """uint8 contact sheet: one row per identity index, columns ``PREVIEW_LABELS``."""
    cams = fixed_cameras(PREVIEW_AZIMUTHS, [elevation_deg], image_size, head=head)
    rows, labels = [], []
    for i in indices:
        ident = sample_identity(int(i), seed, head, domain)
        assets = build_assets(head, ident, texture_size)
        expr, poses = sample_expressions([int(i)] * len(PREVIEW_AZIMUTHS), seed, head)
        if not expressions:
            expr = torch.zeros_like(expr)
            poses = HeadPose.zeros(len(PREVIEW_AZIMUTHS), dtype=expr.dtype, device=expr.device)
        out = render_views(head, ident, expr, poses, cams, domain, assets=assets, background=background,
                           seed=seed)
        rows.append([im for im in out.rgb])
        m = ident.metadata
        labels.append(f"{i}:{m['age_group'][0]}{m['hairstyle'][:3]}")
    return contact_sheet(rows, row_labels=labels, col_labels=list(PREVIEW_LABELS))
