"""Facial hair: where it grows (beard and moustache areas from the landmarks) and its geometry shell.

``stubble`` is texture only (painted by ``skin_texture``); ``moustache`` and ``beard`` add a shell over their area
offset along the posed skin normals (``PartMesh`` mode 'normal', so it follows the jaw and expressions).
"""

from __future__ import annotations

import numpy as np

from gasp_ops.headmodel.topology import REGIONS, HeadTopology
from gasp_ops.synthetic.anatomy import HeadAnatomy
from gasp_ops.synthetic.identity import SyntheticIdentity
from gasp_ops.synthetic.mesh_utils import distance_to_polyline, point_in_polygon, smoothstep, subset_mesh
from gasp_ops.synthetic.part_mesh import PartMesh


def _lip_distance(a: HeadAnatomy, points: np.ndarray) -> np.ndarray:
    """Signed front-view distance [N] to the outer lip contour (negative inside)."""
    poly = a.landmarks[48:60, :2]
    d = distance_to_polyline(points[:, :2], np.concatenate([poly, poly[:1]]))
    return np.where(point_in_polygon(points[:, :2], poly), -d, d)


def _times_lip_ramp(w: np.ndarray, a: HeadAnatomy, points: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``w * smoothstep(_lip_distance(points), lo, hi)``, the distance computed only where ``w`` is not 0 (the
    ramp is finite, so elsewhere the product is 0 anyway): most texels of an atlas are far from any beard."""
    out = np.zeros_like(w, dtype=np.float64)
    live = w != 0
    out[live] = w[live] * smoothstep(_lip_distance(a, points[live]), lo, hi)
    return out


def moustache_weight(a: HeadAnatomy, points: np.ndarray) -> np.ndarray:
    """Soft moustache area [N] in [0, 1] for rest-pose points [N, 3]."""
    lm = a.landmarks
    x = np.abs(points[:, 0] - a.axis_x)
    y = points[:, 1]
    half = 0.5 * abs(lm[54, 0] - lm[48, 0])
    top = a.y_nose - 0.0025
    bottom = np.interp(x, [0.0, half, half + 0.008], [lm[51, 1] + 0.0015, lm[48, 1] + 0.002, a.y_mouth - 0.012])
    w = smoothstep(top - y, 0.0, 0.002) * smoothstep(y - bottom, 0.0, 0.0015)
    w *= smoothstep(half + 0.01 - x, 0.0, 0.003)
    w = _times_lip_ramp(w, a, points, 0.0, 0.0015)
    return w * (points[:, 2] > lm[33, 2] - 0.04 * a.scale / 0.234)


def beard_weight(a: HeadAnatomy, points: np.ndarray) -> np.ndarray:
    """Soft full-beard area [N] in [0, 1] (jaw, chin, cheeks below the cheekbones; lips left free)."""
    lm = a.landmarks
    s = a.scale / 0.234
    x = np.abs(points[:, 0] - a.axis_x)
    y, z = points[:, 1], points[:, 2]
    jaw_x = 0.5 * abs(lm[16, 0] - lm[0, 0])
    half = 0.5 * abs(lm[54, 0] - lm[48, 0])
    cheek = np.interp(x, [0.0, half + 0.004, 0.8 * jaw_x, 1.05 * jaw_x],
                      [a.y_nose - 0.0025, a.y_nose - 0.004, a.y_eye - 0.028 * s, a.y_eye - 0.01 * s])
    w = smoothstep(cheek - y, 0.0, 0.006 * s)
    w *= smoothstep(y - (a.y_chin - 0.035 * s), 0.0, 0.01 * s)
    w *= smoothstep(z - (min(lm[0, 2], lm[16, 2]) - 0.012 * s), 0.0, 0.01 * s)
    w = _times_lip_ramp(w, a, points, 0.001, 0.003)
    return np.maximum(w, moustache_weight(a, points))


def facial_hair_weight(a: HeadAnatomy, points: np.ndarray, style: str) -> np.ndarray:
    """Area [N] covered by ``style`` facial hair (stubble covers the full-beard area)."""
    if style == "none":
        return np.zeros(len(points))
    if style == "moustache":
        return moustache_weight(a, points)
    return beard_weight(a, points)


def build_facial_hair(a: HeadAnatomy, normals: np.ndarray, topo: HeadTopology, ident: SyntheticIdentity) -> PartMesh:
    """Beard / moustache shell ``PartMesh`` (empty for none and stubble)."""
    if ident.facial_hair not in ("moustache", "beard"):
        return PartMesh.empty("normal")
    v = a.vertices
    faces = topo.faces.cpu().numpy()
    regions = topo.face_regions.cpu().numpy()
    w = facial_hair_weight(a, v, ident.facial_hair)
    allowed = np.isin(regions, [REGIONS.index(r) for r in ("face", "neck", "scalp")])
    keep = allowed & (w[faces] > 0.3).all(1)
    if not keep.any():
        return PartMesh.empty("normal")
    sub_faces, used = subset_mesh(faces, keep)
    s = a.scale / 0.234
    T = (0.6 if ident.facial_hair == "moustache" else 1.0) * ident.beard_thickness * s
    lm = a.landmarks
    chin = np.exp(-((v[used] - lm[8]) ** 2).sum(1) / (0.03 * s) ** 2)  # fuller at the chin
    t = 0.0006 + T * smoothstep(w[used], 0.3, 0.9) * (1.0 + 0.6 * chin)
    p = v[used]
    lo, hi = p.min(0), p.max(0)
    uvs = np.stack([0.02 + 0.96 * (p[:, 0] - lo[0]) / max(hi[0] - lo[0], 1e-6),
                    0.02 + 0.96 * (p[:, 1] - lo[1]) / max(hi[1] - lo[1], 1e-6)], 1)
    rest = p + normals[used] * t[:, None]
    return PartMesh("normal", rest, used, t[:, None], sub_faces, uvs, sub_faces.copy())
