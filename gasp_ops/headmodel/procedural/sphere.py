"""Geodesic unit sphere (class-I subdivided icosahedron): the parameter domain of the procedural head surface."""

from __future__ import annotations

import numpy as np


def icosahedron() -> tuple[np.ndarray, np.ndarray]:
    """Unit icosahedron: vertices [12, 3] float64 and outward counter-clockwise faces [20, 3] int64."""
    t = (1.0 + 5.0 ** 0.5) / 2.0
    v = np.array(
        [[-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0], [0, -1, t], [0, 1, t], [0, -1, -t], [0, 1, -t],
         [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1]], dtype=np.float64)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    f = np.array(
        [[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4], [11, 10, 2], [10, 7, 6],
         [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8], [3, 8, 9], [4, 9, 5], [2, 4, 11], [6, 2, 10],
         [8, 6, 7], [9, 8, 1]], dtype=np.int64)
    return v, f


def geodesic_sphere(frequency: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit sphere with ``10 * frequency**2 + 2`` vertices [V, 3] and ``20 * frequency**2`` faces [F, 3].

    Each icosahedron face is split into ``frequency**2`` triangles; shared edge points are merged, so the mesh is
    closed and manifold, and every face is counter-clockwise seen from outside.
    """
    n = int(frequency)
    base_v, base_f = icosahedron()
    ij = [(i, j) for i in range(n + 1) for j in range(n + 1 - i)]
    index = {key: k for k, key in enumerate(ij)}
    local = []
    for i in range(n):
        for j in range(n - i):
            local.append((index[(i, j)], index[(i + 1, j)], index[(i, j + 1)]))
            if i + j < n - 1:
                local.append((index[(i + 1, j)], index[(i + 1, j + 1)], index[(i, j + 1)]))
    local = np.array(local, dtype=np.int64)
    ij = np.array(ij, dtype=np.float64)
    pts, tris = [], []
    for a, b, c in base_f:
        A, B, C = base_v[a], base_v[b], base_v[c]
        p = A[None] + (ij[:, :1] / n) * (B - A)[None] + (ij[:, 1:] / n) * (C - A)[None]
        tris.append(local + len(pts) * len(ij))
        pts.append(p)
    pts = np.concatenate(pts)
    tris = np.concatenate(tris)
    key = np.round(pts * 1e7).astype(np.int64)
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(first)  # keep a deterministic, generation-ordered numbering
    remap = np.empty_like(order)
    remap[order] = np.arange(len(order))
    verts = pts[first[order]]
    faces = remap[inverse[tris]]
    verts /= np.linalg.norm(verts, axis=1, keepdims=True)
    # Orient every face outwards (counter-clockwise seen from outside).
    n_ = np.cross(verts[faces[:, 1]] - verts[faces[:, 0]], verts[faces[:, 2]] - verts[faces[:, 0]])
    flip = (n_ * verts[faces].mean(1)).sum(1) < 0
    faces[flip] = faces[flip][:, [0, 2, 1]]
    return verts, faces


def focus_warp(dirs: np.ndarray, axis, sigma: float, strength: float) -> np.ndarray:
    """Pull unit directions [N, 3] towards ``axis`` (a smooth bijection of the sphere) to refine the mesh there.

    Angle ``theta`` from the axis becomes ``theta * (1 - strength * exp(-theta^2 / sigma^2))``; monotone for
    ``strength < 1``, so triangles never flip. Vertex density near the axis grows by about ``1 / (1 - strength)^2``.
    """
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    cos = np.clip(dirs @ a, -1.0, 1.0)
    theta = np.arccos(cos)
    perp = dirs - cos[:, None] * a[None]
    pn = np.linalg.norm(perp, axis=1, keepdims=True)
    perp = np.where(pn > 1e-12, perp / np.maximum(pn, 1e-12), 0.0)
    new = theta * (1.0 - strength * np.exp(-(theta / sigma) ** 2))
    return np.cos(new)[:, None] * a[None] + np.sin(new)[:, None] * perp
