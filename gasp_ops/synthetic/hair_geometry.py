"""Hair geometry: a shell over the scalp (offset along the rest normals, thickness by style) plus, for medium and
long hair, a curtain hanging from the widest part of the head (to the chin or onto the shoulders).

Both are stored in the cranium's rigid frame (``PartMesh`` mode 'skull'), so the hair follows neck and root
rotations exactly and stays attached to the scalp.
"""

from __future__ import annotations

import numpy as np
import torch

from gasp_ops.headmodel.topology import REGIONS, HeadTopology
from gasp_ops.synthetic.anatomy import HeadAnatomy
from gasp_ops.synthetic.identity import SyntheticIdentity
from gasp_ops.synthetic.mesh_utils import grid_faces, orient_outwards, smoothstep, subset_mesh
from gasp_ops.synthetic.part_mesh import PartMesh

#: Shell thickness (metres, before ``hair_volume``) per style.
STYLE_THICKNESS = {"bald": 0.0, "short": 0.007, "medium": 0.013, "long": 0.013, "fringe": 0.011}


def hairline_height(a: HeadAnatomy, azimuth_deg: np.ndarray, style: str, raise_m: float = 0.0) -> np.ndarray:
    """Height [...] of the hairline (hair above it) at each azimuth, for ``style``."""
    brow, crown, eye, mouth, nose = a.y_brow, a.y_crown, a.y_eye, a.y_mouth, a.y_nose
    front = brow + 0.47 * (crown - brow) + raise_m
    az = np.abs(azimuth_deg)
    if style == "fringe":
        xs = [0.0, 40.0, 62.0, 80.0, 95.0, 112.0, 140.0, 180.0]
        ys = [brow + 0.013, brow + 0.016, brow + 0.01, eye, eye - 0.006, brow, mouth, mouth - 0.012]
    elif style in ("medium", "long"):
        xs = [0.0, 30.0, 60.0, 80.0, 95.0, 112.0, 140.0, 180.0]
        ys = [front, front - 0.004, brow + 0.008, eye, nose, mouth, mouth - 0.01, mouth - 0.02]
    else:  # short
        xs = [0.0, 30.0, 60.0, 80.0, 95.0, 112.0, 140.0, 180.0]
        ys = [front, front - 0.004 + 0.3 * raise_m, brow + 0.01, eye, eye - 0.006, brow + 0.004, mouth + 0.01,
              mouth]
    return np.interp(az, xs, ys)


def hair_coverage(a: HeadAnatomy, points: np.ndarray, style: str, raise_m: float = 0.0, ramp: float = 0.01):
    """Soft coverage [N] in [0, 1] of rest-pose ``points`` [N, 3] by hair of ``style`` (0 for bald)."""
    if style == "bald":
        return np.zeros(len(points))
    h = hairline_height(a, a.azimuth(points), style, raise_m)
    return smoothstep(points[:, 1] - h, 0.0, ramp)


def _shell(a: HeadAnatomy, normals: np.ndarray, topo: HeadTopology, ident: SyntheticIdentity) -> PartMesh:
    style = ident.hairstyle
    v = a.vertices
    faces = topo.faces.cpu().numpy()
    regions = topo.face_regions.cpu().numpy()
    az = a.azimuth(v)
    above = v[:, 1] - hairline_height(a, az, style, ident.hairline_raise)
    allowed = np.isin(regions, [REGIONS.index(r) for r in ("scalp", "face", "neck")])
    keep = allowed & (above[faces] > 0).all(1)
    if not keep.any():
        return PartMesh.empty("skull")
    sub_faces, used = subset_mesh(faces, keep)
    s = a.scale / 0.234
    T = STYLE_THICKNESS[style] * ident.hair_volume * s
    ramp = (0.006 if style == "fringe" else 0.014) * s
    rel = a.rel(v[used, 1])
    top = smoothstep(rel, 0.6, 1.0)  # more volume over the crown
    fringe_edge = 0.0
    if style == "fringe":
        fringe_edge = smoothstep(np.abs(az[used]), 50.0, 25.0) * 0.5  # a blunt, thick fringe edge
    taper = np.maximum(smoothstep(above[used], 0.0, ramp), fringe_edge)
    t = 0.0008 + T * taper * (1.0 + 0.35 * top)
    offset = normals[used] * t[:, None]
    # UVs: u = azimuth, v = polar angle from the crown, so strands (texture v) run along the meridians.
    p = v[used]
    polar = np.arctan2(a.radius(p), p[:, 1] - a.y_eye)
    u = (az[used] + 180.0) / 360.0
    vv = 1.0 - polar / np.pi
    uvs, uv_faces = _wrapped_corner_uvs(u, vv, sub_faces)
    return PartMesh("skull", p + offset, used, offset, sub_faces, uvs, uv_faces)


def _wrapped_corner_uvs(u: np.ndarray, v: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-corner UVs [3F, 2] with the azimuth seam at the back unwrapped per face, squeezed into [0.02, 0.98]."""
    cu, cv = u[faces], v[faces]
    span = cu.max(1) - cu.min(1)
    cu = np.where((span > 0.5)[:, None] & (cu < 0.5), cu + 1.0, cu)
    cu = 0.02 + 0.96 * (cu / 1.05)
    cv = 0.02 + 0.96 * np.clip(cv, 0.0, 1.0)
    uvs = np.stack([cu.reshape(-1), cv.reshape(-1)], 1)
    return uvs, np.arange(3 * len(faces), dtype=np.int64).reshape(-1, 3)


def _curtain(a: HeadAnatomy, ident: SyntheticIdentity, rng: torch.Generator) -> PartMesh:
    style = ident.hairstyle
    if style not in ("medium", "long"):
        return PartMesh.empty("skull")
    s = a.scale / 0.234
    T = STYLE_THICKNESS[style] * ident.hair_volume * s
    az0 = 72.0 if style == "long" else 82.0
    y_top = a.y_brow + 0.35 * (a.y_crown - a.y_brow)
    if style == "long":
        y_end = a.y_bottom - 0.05 * s * ident.hair_length
    else:
        y_end = a.y_mouth - 0.015 * s * ident.hair_length
    cols, rows = 61, 40
    az = np.linspace(az0, 360.0 - az0, cols)
    az = np.where(az > 180.0, az - 360.0, az)
    jitter = (torch.rand(cols, generator=rng, dtype=torch.float64).numpy() - 0.5) * 0.02 * s
    t = np.linspace(0.0, 1.0, rows)
    v = a.vertices
    vaz = a.azimuth(v)
    vr = a.radius(v)
    radius = np.zeros((rows, cols))
    ys = np.zeros((rows, cols))
    for c in range(cols):
        y_col = y_top + t * (y_end + jitter[c] * (1.0 if style == "long" else 0.5) - y_top)
        ys[:, c] = y_col
        d = np.abs((vaz - az[c] + 180.0) % 360.0 - 180.0)
        wedge = (d < 6.0) & (v[:, 1] <= y_top + 0.01)
        for r in range(rows):
            sel = wedge & (v[:, 1] >= y_col[r])
            radius[r, c] = vr[sel].max() if sel.any() else (radius[r - 1, c] if r else a.neck_half.max())
    radius = np.maximum.accumulate(radius, axis=0)  # hangs straight down from the widest point above
    flare = smoothstep(t, 0.3, 1.0)[:, None] * (0.012 if style == "long" else 0.006) * s
    radius = radius + 0.6 * T + 0.5 * T * smoothstep(t, 0.0, 0.25)[:, None] + flare
    tip = smoothstep(t, 0.85, 1.0)[:, None] * 0.004 * s  # tips curl slightly inwards
    radius = radius - tip
    ang = np.radians(az)[None, :]
    x = a.axis_x + radius * np.sin(ang)
    z = a.axis_z + radius * np.cos(ang)
    pts = np.stack([x, ys, z], -1).reshape(-1, 3)
    faces = grid_faces(rows, cols)
    faces = orient_outwards(pts, faces, np.array([a.axis_x, 0.0, a.axis_z]))
    # Anchor every column to its nearest head vertex near the top of the curtain.
    top_pts = pts[:cols]
    near = np.argmin(((v[None, :, :] - top_pts[:, None, :]) ** 2).sum(-1), axis=1)
    anchor = np.tile(near, rows)
    offset = pts - v[anchor]
    uu = np.tile(np.linspace(0.02, 0.98, cols), rows)
    vv = np.repeat(np.linspace(0.98, 0.02, rows), cols)
    return PartMesh("skull", pts, anchor.astype(np.int64), offset, faces, np.stack([uu, vv], 1), faces.copy())


def build_hair(a: HeadAnatomy, normals: np.ndarray, topo: HeadTopology, ident: SyntheticIdentity,
               rng: torch.Generator) -> PartMesh:
    """Hair ``PartMesh`` (shell + curtain; empty for ``bald``). normals: rest vertex normals [V, 3]."""
    if ident.hairstyle == "bald":
        return PartMesh.empty("skull")
    parts = [p for p in (_shell(a, normals, topo, ident), _curtain(a, ident, rng)) if p.num_faces]
    return concat_parts(parts, "skull")


def concat_parts(parts: list[PartMesh], mode: str) -> PartMesh:
    """One ``PartMesh`` from several of the same mode (faces and UV indices shifted)."""
    if not parts:
        return PartMesh.empty(mode)
    faces, uv_faces, nv, nt = [], [], 0, 0
    for p in parts:
        faces.append(p.faces + nv)
        uv_faces.append(p.uv_faces + nt)
        nv += p.num_vertices
        nt += len(p.uvs)
    cat = lambda k: np.concatenate([getattr(p, k) for p in parts])  # noqa: E731
    return PartMesh(mode, cat("rest"), cat("anchor"), cat("offset"), np.concatenate(faces), cat("uvs"),
                    np.concatenate(uv_faces))
