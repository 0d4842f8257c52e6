"""Planning the synthetic dataset: the identity table and the per-view table (cameras, expression, pose, paths).

Both tables follow ``dataset_schema``; planning is cheap (no rendering), deterministic under the seed, and fixes
everything a render needs, so renders can run later, in shards, on other machines, and resume.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import torch

from gasp_ops.cameras import Cameras
from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.headmodel.pose import HeadPose
from gasp_ops.synthetic.dataset_schema import IDENTITY_COLUMNS, VIEW_COLUMNS, validate_columns, view_paths
from gasp_ops.synthetic.identity import SyntheticIdentity, check_domain, sample_identity


#: Identity-name prefix per domain.
ID_PREFIX = {"prior": "syn", "real_proxy": "rp", "prior_lit": "lit"}


def identity_id(index: int, domain: str = "prior") -> str:
    """Stable identity name: ``syn_00042`` (prior), ``rp_00042`` (real_proxy) or ``lit_00042`` (prior_lit: the
    prior's person 42, lit)."""
    return f"{ID_PREFIX[check_domain(domain)]}_{index:05d}"


def _positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) <= 0:
        raise GaspInputError(name, f"must be a positive integer, got {value!r}")
    return int(value)


def plan_identities(n: int, seed: int, head: HeadModel, domain: str = "prior", start: int = 0) -> list[SyntheticIdentity]:
    """``n`` identities with indices ``start .. start + n - 1``, each deterministic from (seed, index, domain)."""
    _positive("synthetic_identities", n)
    return [sample_identity(start + i, seed, head, domain=domain) for i in range(n)]


def identity_table(identities: list[SyntheticIdentity], head: HeadModel) -> pd.DataFrame:
    """One row per identity (``IDENTITY_COLUMNS`` plus every metadata label as its own column)."""
    rows = []
    for ident in identities:
        meta = ident.metadata
        appearance = {k: v for k, v in ident.__dict__.items() if k != "identity"}
        appearance = json.loads(json.dumps(appearance, default=lambda x: list(x) if isinstance(x, tuple) else str(x)))
        row = {**{k: v for k, v in meta.items() if not isinstance(v, list)},
               "identity_id": identity_id(ident.index, ident.domain),
               "index": int(ident.index),
               "seed": int(ident.seed),
               "domain": ident.domain,
               "head_model": head.name,
               "identity_coeffs": ident.identity.detach().cpu().numpy().astype(np.float32),
               "appearance_json": json.dumps(appearance, sort_keys=True)}
        rows.append(row)
    frame = pd.DataFrame(rows)
    first = list(IDENTITY_COLUMNS)
    frame = frame[first + [c for c in frame.columns if c not in first]]
    validate_columns(frame, IDENTITY_COLUMNS, "identities")
    return frame


def plan_views(identities: pd.DataFrame, n_views: int, seed: int, head: HeadModel, image_size: int) -> pd.DataFrame:
    """``n_views`` views per identity: cameras uniform in azimuth/elevation (paper §4), random expression and pose.

    Draws depend only on (seed, identity index), so adding identities never changes existing views.
    """
    from gasp_ops.synthetic.cameras import sample_cameras
    from gasp_ops.synthetic.expression import sample_expression

    _positive("synthetic_views", n_views)
    _positive("synthetic_image_size", image_size)
    if len(identities) == 0:
        raise GaspInputError("identities", "no identities to plan views for")
    rows = []
    for ident in identities.itertuples(index=False):
        cams, az, el = sample_cameras(n_views, _view_seed(seed, ident.index), image_size)
        for v in range(n_views):
            expr, pose = sample_expression(ident.index * 1_000_003 + v, seed, head)
            rows.append({
                "identity_id": ident.identity_id,
                "view_index": v,
                "width": image_size,
                "height": image_size,
                "K": _host(cams.K[v]),
                "world_to_cam": _host(cams.world_to_cam[v]),
                "azimuth_deg": float(az[v]),
                "elevation_deg": float(el[v]),
                "expression": _host(torch.as_tensor(expr)),
                **{k: _host(t) for k, t in pose.as_dict().items()},
                **view_paths(ident.identity_id, v),
            })
    frame = pd.DataFrame(rows)
    validate_columns(frame, VIEW_COLUMNS, "views")
    return frame


def _host(t: torch.Tensor) -> np.ndarray:
    """A flat float32 NumPy copy of a tensor on any device."""
    return t.detach().reshape(-1).cpu().numpy().astype(np.float32)


def _view_seed(seed: int, index: int) -> int:
    return int(seed) * 1_000_003 + int(index)


def view_inputs(views: pd.DataFrame) -> tuple[torch.Tensor, HeadPose, Cameras]:
    """Stack rows of the views table into (expressions [K, n_expr], HeadPose batch K, Cameras K)."""
    if len(views) == 0:
        raise GaspInputError("views", "no views")
    sizes = views[["width", "height"]].drop_duplicates()
    if len(sizes) != 1:
        raise GaspInputError("views.width/height", "all views of one render call must share an image size")

    def stack(col, shape):
        return torch.from_numpy(np.stack([np.asarray(v, np.float32) for v in views[col]])).reshape(len(views), *shape)

    pose = HeadPose(rotation=stack("rotation", (3,)), translation=stack("translation", (3,)), neck=stack("neck", (3,)),
                    jaw=stack("jaw", (3,)), eyes=stack("eyes", (6,)))
    cams = Cameras(stack("world_to_cam", (4, 4)), stack("K", (3, 3)), int(sizes.width.iloc[0]), int(sizes.height.iloc[0]))
    expr = stack("expression", (-1,)) if len(views) else torch.zeros(0)
    return expr, pose, cams
