"""Small mesh helpers: deterministic vertex normals (gather, no atomics), face subsets, rigid frames."""

from __future__ import annotations

import numpy as np
import torch


def incidence_table(faces: np.ndarray, num_vertices: int) -> np.ndarray:
    """[V, M] face ids incident to each vertex, padded with ``F`` (an extra zero-normal face)."""
    F = len(faces)
    flat_v = faces.reshape(-1)
    flat_f = np.repeat(np.arange(F), 3)
    order = np.argsort(flat_v, kind="stable")
    v_sorted, f_sorted = flat_v[order], flat_f[order]
    counts = np.bincount(v_sorted, minlength=num_vertices)
    M = max(1, int(counts.max()) if len(counts) else 1)
    table = np.full((num_vertices, M), F, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(len(v_sorted)) - np.repeat(starts, counts)
    table[v_sorted, slot] = f_sorted
    return table


def face_normals(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Area-weighted face normals [B, F, 3] (not normalised) of vertices [B, V, 3]."""
    a, b, c = vertices[:, faces[:, 0]], vertices[:, faces[:, 1]], vertices[:, faces[:, 2]]
    return torch.linalg.cross(b - a, c - a, dim=-1)


def vertex_normals(vertices: torch.Tensor, faces: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Unit vertex normals [B, V, 3] (area-weighted mean of incident faces) with a fixed summation order.

    table: ``incidence_table`` as a long tensor on the vertices' device. Deterministic on every device.
    """
    fn = face_normals(vertices, faces)
    fn = torch.cat([fn, torch.zeros_like(fn[:, :1])], dim=1)
    n = fn[:, table].sum(dim=2)
    return n / n.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def vertex_normals_np(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Unit vertex normals [V, 3] (numpy, area-weighted)."""
    fn = np.cross(vertices[faces[:, 1]] - vertices[faces[:, 0]], vertices[faces[:, 2]] - vertices[faces[:, 0]])
    n = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(n, faces[:, k], fn)
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


def subset_mesh(faces: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Faces [F', 3] re-indexed to a compact vertex list, and that list [V'] (indices into the original)."""
    sub = faces[keep]
    used, inverse = np.unique(sub.reshape(-1), return_inverse=True)
    return inverse.reshape(-1, 3).astype(np.int64), used.astype(np.int64)


def grid_faces(rows: int, cols: int, wrap: bool = False) -> np.ndarray:
    """Triangles [F, 3] of a rows x cols vertex grid (row-major); ``wrap`` joins the last column to the first."""
    c_last = cols if wrap else cols - 1
    r, c = np.meshgrid(np.arange(rows - 1), np.arange(c_last), indexing="ij")
    r, c = r.reshape(-1), c.reshape(-1)
    a = r * cols + c
    b = r * cols + (c + 1) % cols
    d = (r + 1) * cols + c
    e = (r + 1) * cols + (c + 1) % cols
    return np.concatenate([np.stack([a, d, b], 1), np.stack([b, d, e], 1)]).astype(np.int64)


def orient_outwards(vertices: np.ndarray, faces: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Faces flipped where needed so their normals point away from the vertical axis through ``centre``."""
    tri = vertices[faces]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    radial = tri.mean(1) - centre
    radial[:, 1] = 0.0
    flip = (n * radial).sum(1) < 0
    out = faces.copy()
    out[flip] = out[flip][:, [0, 2, 1]]
    return out


def point_in_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Boolean [N]: 2-D ``points`` [N, 2] inside the closed ``polygon`` [M, 2] (even-odd rule).

    One edge at a time on the point columns (no [N, M] temporaries: the texture painter calls this on every texel
    of a 1024² atlas)."""
    x, y = np.ascontiguousarray(points[:, 0]), np.ascontiguousarray(points[:, 1])
    inside = np.zeros(len(points), dtype=bool)
    for (px, py), (qx, qy) in zip(polygon, np.roll(polygon, -1, axis=0)):
        dy = 1e-12 if qy == py else qy - py
        inside ^= ((py > y) != (qy > y)) & (x < (qx - px) * (y - py) / dy + px)
    return inside


def distance_to_polyline(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Distance [N] from 2-D or 3-D ``points`` [N, D] to the open polyline ``line`` [M, D].

    Segment by segment on the point columns, keeping the smallest squared distance (one square root at the end)."""
    cols = [np.ascontiguousarray(points[:, k], dtype=np.float64) for k in range(points.shape[1])]
    best = np.full(len(points), np.inf)
    for a, b in zip(line[:-1], line[1:]):
        ab = b - a
        inv = 1.0 / max(float(ab @ ab), 1e-12)
        rel = [c - ak for c, ak in zip(cols, a)]
        t = rel[0] * ab[0]
        for r, abk in zip(rel[1:], ab[1:]):
            t += r * abk
        np.clip(t * inv, 0.0, 1.0, out=t)
        d2 = np.zeros(len(points))
        for r, abk in zip(rel, ab):
            r -= t * abk
            d2 += r * r
        np.minimum(best, d2, out=best)
    return np.sqrt(best)


def smoothstep(x, lo: float, hi: float):
    """0 below ``lo``, 1 above ``hi``, smooth in between (``lo > hi`` gives the mirrored ramp)."""
    t = np.clip((np.asarray(x, dtype=np.float64) - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)
