"""A small "teacher" dataset for tests and GPU benchmarks when the synthetic mesh renderer is not at hand.

Each identity is a hand-made Gaussian avatar on the head mesh: region colours from its metadata (skin tone, hair
colour, eye colour; facial hair darkens the lower face, long hair thickens the scalp layer), posed with the
identity's shape coefficients and a random expression, seen from cameras uniform in azimuth [-180, 180] and
elevation [-20, 45] degrees (paper §4), rendered with ``gasp_ops.render``. ``write_toy_dataset`` stores it in the
synthetic dataset's schema (``gasp_ops.synthetic.dataset_schema``) so ``SyntheticDataset.open`` reads it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from gasp_ops.avatar import GaussianAvatar, pose
from gasp_ops.binding.uv_init import uv_binding
from gasp_ops.cameras import orbit_cameras
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.headmodel.pose import HeadPose
from gasp_ops.headmodel.topology import REGIONS
from gasp_ops.render.render import render
from gasp_ops.seeding import generator

HAIR_RGB = {"black": (0.07, 0.05, 0.04), "brown": (0.33, 0.2, 0.1), "blond": (0.82, 0.68, 0.38),
            "red": (0.62, 0.22, 0.08), "grey": (0.68, 0.68, 0.66), "white": (0.9, 0.9, 0.88)}
EYE_RGB = {"blue": (0.25, 0.45, 0.75), "green": (0.3, 0.55, 0.3), "brown": (0.35, 0.2, 0.1)}
FOV_DEG = 18.0


def random_metadata(n: int, seed: int) -> pd.DataFrame:
    """Random labels in the identity table's vocabulary (used when no identity table is given)."""
    g = np.random.default_rng(seed)
    hair = list(HAIR_RGB)
    return pd.DataFrame({
        "age_group": g.choice(["young", "middle", "old"], n), "facial_hair": g.random(n) < 0.4,
        "long_hair": g.random(n) < 0.4, "hair_colour": g.choice(hair, n),
        "eye_colour": g.choice(list(EYE_RGB), n), "skin_tone": g.uniform(1.0, 6.0, n)})


def teacher_avatar(head: HeadModel, uv_resolution: int, meta, seed: int) -> GaussianAvatar:
    """The hand-made avatar of one identity (``meta``: a row with the metadata columns)."""
    topo = head.topology
    binding = uv_binding(topo, uv_resolution)
    template = head.template.detach().float().cpu()
    avatar = GaussianAvatar.from_binding(topo, binding, template)
    region = topo.face_regions[binding.face_ids]
    tone = min(max((float(meta.skin_tone) - 1.0) / 5.0, 0.0), 1.0)
    skin = torch.tensor([0.88, 0.72, 0.62]) * (1 - tone) + torch.tensor([0.36, 0.23, 0.16]) * tone
    hair = torch.tensor(HAIR_RGB.get(str(meta.hair_colour), (0.3, 0.3, 0.3)))
    if str(meta.age_group) == "old":
        hair = 0.4 * hair + 0.6 * torch.tensor([0.75, 0.75, 0.73])
    colors = skin.expand(binding.count, 3).clone()
    scalp = region == REGIONS.index("scalp")
    colors[scalp] = hair
    colors[region == REGIONS.index("eyes")] = torch.tensor(EYE_RGB.get(str(meta.eye_colour), (0.3, 0.3, 0.3)))
    colors[region == REGIONS.index("mouth")] = skin * torch.tensor([0.9, 0.55, 0.55])
    rest = template[topo.faces[binding.face_ids]].mean(1)
    if bool(meta.facial_hair):
        lower = (region == REGIONS.index("face")) & (rest[:, 1] < rest[:, 1].quantile(0.02) + 0.06) & (rest[:, 2] > 0)
        colors[lower] = 0.55 * hair + 0.45 * colors[lower] * 0.5
    g = generator(seed, "toy-teacher", str(getattr(meta, "identity_id", "")))
    colors = (colors * (1 + 0.06 * torch.randn(binding.count, 1, generator=g))).clamp(0, 1)
    offsets = torch.zeros(binding.count, 3)
    offsets[scalp, 2] = 2.5 if bool(meta.long_hair) else 0.8  # along the triangle normal, in triangle units
    log_scales = avatar.log_scales.clone()
    log_scales[scalp] += math.log(1.6 if bool(meta.long_hair) else 1.2)
    return GaussianAvatar(faces=avatar.faces, face_ids=avatar.face_ids, barycentrics=avatar.barycentrics,
                          offsets=offsets, log_scales=log_scales, quats=avatar.quats, colors=colors,
                          opacity_logits=avatar.opacity_logits)


def sample_views(head: HeadModel, n_views: int, seed: int, label, image_size: int, expression_std: float = 0.4):
    """(Cameras n_views, expression [n_views, n_expr], HeadPose n_views, azimuth_deg, elevation_deg)."""
    g = generator(seed, "toy-views", str(label))
    az = torch.rand(n_views, generator=g) * 360.0 - 180.0
    el = torch.rand(n_views, generator=g) * 65.0 - 20.0
    v = head.template.detach().float().cpu()
    lo, hi = v.min(0).values, v.max(0).values
    height = float(hi[1] - lo[1]) * 1.15
    distance = height / (0.85 * 2 * math.tan(math.radians(FOV_DEG) / 2))
    target = tuple(float(x) for x in (0.5 * (lo + hi)))
    cams = orbit_cameras(az, el, distance, FOV_DEG, image_size, image_size, target=target)
    expr = torch.randn(n_views, head.n_expression, generator=g) * expression_std
    p = HeadPose.zeros(n_views)
    p.jaw[:, 0] = torch.rand(n_views, generator=g) * 0.15
    p.neck[:] = torch.randn(n_views, 3, generator=g) * 0.05
    return cams, expr, p, az, el


@torch.no_grad()
def render_teacher(head: HeadModel, avatar: GaussianAvatar, identity: torch.Tensor, cams, expr, p):
    """Premultiplied rgb [K, H, W, 3] and alpha [K, H, W] of one identity's views."""
    verts = head(identity[None].expand(len(cams), -1).float(), expr, p)
    out = render(pose(avatar, verts), cams)
    return out.rgb, out.alpha[..., 0]


def toy_views(head: HeadModel, n_subjects: int, n_views: int, image_size: int, uv_resolution: int = 48,
              seed: int = 0, holdout_views: int = 1, identity_std: float = 1.0, metadata: pd.DataFrame | None = None):
    """An in-memory ``PriorViews`` of teacher identities (on the head's device)."""
    from gasp_ops.prior.dataset_batches import PriorViews

    meta = metadata if metadata is not None else random_metadata(n_subjects, seed)
    rows = dict(rgb=[], alpha=[], subject=[], view=[], expr=[], w2c=[], K=[], pose=[])
    coeffs = []
    for j, row in enumerate(meta.head(n_subjects).itertuples(index=False)):
        ident = torch.randn(head.n_identity, generator=generator(seed, "toy-identity", j)) * identity_std
        coeffs.append(ident)
        avatar = teacher_avatar(head, uv_resolution, row, seed).to(head.template.device)
        cams, expr, p, _, _ = sample_views(head, n_views, seed, j, image_size)
        dev = head.template.device
        rgb, alpha = render_teacher(head, avatar, ident.to(dev), cams.to(dev), expr.to(dev), p.to(device=dev))
        rows["rgb"].append(rgb.cpu()); rows["alpha"].append(alpha.cpu())
        rows["subject"] += [j] * n_views; rows["view"] += list(range(n_views))
        rows["expr"].append(expr); rows["w2c"].append(cams.world_to_cam); rows["K"].append(cams.K); rows["pose"].append(p)
    pose_fields = {k: torch.cat([getattr(q, k) for q in rows["pose"]]) for k in ("rotation", "translation", "neck", "jaw", "eyes")}
    return PriorViews.from_tensors(torch.cat(rows["rgb"]), torch.cat(rows["alpha"]), torch.tensor(rows["subject"]),
                                   torch.tensor(rows["view"]), torch.cat(rows["expr"]), pose_fields,
                                   torch.cat(rows["w2c"]), torch.cat(rows["K"]), torch.stack(coeffs),
                                   [f"toy_{j:05d}" for j in range(len(coeffs))], holdout_views=holdout_views)


def write_toy_dataset(root, head: HeadModel, identities: pd.DataFrame, n_views: int, image_size: int,
                      uv_resolution: int = 48, seed: int = 0) -> Path:
    """Render teacher views of ``identities`` (an identity table in the schema) into ``root`` in the dataset
    schema: identities.parquet, views.parquet, images/, masks/, faceids/ (face ids are left empty, 0)."""
    from gasp_ops.io.images import save_png, save_png16
    from gasp_ops.io.tables import write_parquet
    from gasp_ops.synthetic.dataset_schema import view_paths

    root = Path(root)
    view_rows = []
    for row in identities.itertuples(index=False):
        avatar = teacher_avatar(head, uv_resolution, row, seed)
        cams, expr, p, az, el = sample_views(head, n_views, seed, row.identity_id, image_size)
        ident = torch.as_tensor(np.asarray(row.identity_coeffs, np.float32))
        rgb, alpha = render_teacher(head, avatar, ident, cams, expr, p)
        straight = torch.where(alpha[..., None] > 0, rgb / alpha[..., None].clamp_min(1e-6), torch.zeros_like(rgb))
        for v in range(n_views):
            paths = view_paths(row.identity_id, v)
            save_png(root / paths["image_path"], straight[v].clamp(0, 1))
            save_png(root / paths["mask_path"], alpha[v])
            save_png16(root / paths["face_id_path"], np.zeros((image_size, image_size), np.int64))
            view_rows.append({
                "identity_id": row.identity_id, "view_index": v, "width": image_size, "height": image_size,
                "K": cams.K[v].reshape(-1).numpy().astype(np.float32),
                "world_to_cam": cams.world_to_cam[v].reshape(-1).numpy().astype(np.float32),
                "azimuth_deg": float(az[v]), "elevation_deg": float(el[v]),
                "expression": expr[v].numpy().astype(np.float32),
                **{k: t[v].reshape(-1).numpy().astype(np.float32) for k, t in p.as_dict().items()}, **paths})
    write_parquet(root / "identities.parquet", identities)
    write_parquet(root / "views.parquet", pd.DataFrame(view_rows))
    return root
