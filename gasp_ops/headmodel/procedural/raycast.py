"""Ray / triangle-mesh intersection (numpy), used to embed landmarks and place joints on the surface."""

from __future__ import annotations

import numpy as np


def intersect(origin: np.ndarray, direction: np.ndarray, vertices: np.ndarray, faces: np.ndarray,
              first: bool = True) -> tuple[int, float, np.ndarray]:
    """Hit of one ray (``origin`` [3], ``direction`` [3]) with a mesh (vertices [V, 3], faces [F, 3]).

    Returns (face id, ray parameter t, barycentrics [3]) of the nearest hit with t > 0 (``first=True``) or the
    farthest one (``first=False``); raises ``RuntimeError`` when the ray misses.
    """
    a, b, c = vertices[faces[:, 0]], vertices[faces[:, 1]], vertices[faces[:, 2]]
    e1, e2 = b - a, c - a
    pv = np.cross(direction[None], e2)
    det = (e1 * pv).sum(1)
    ok = np.abs(det) > 1e-18
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    tv = origin[None] - a
    u = (tv * pv).sum(1) * inv
    qv = np.cross(tv, e1)
    v = (direction[None] * qv).sum(1) * inv
    t = (e2 * qv).sum(1) * inv
    eps = 1e-9
    hit = ok & (u >= -eps) & (v >= -eps) & (u + v <= 1 + eps) & (t > 1e-9)
    idx = np.nonzero(hit)[0]
    if len(idx) == 0:
        raise RuntimeError("ray missed the mesh")
    k = idx[np.argmin(t[idx])] if first else idx[np.argmax(t[idx])]
    bary = np.clip(np.array([1.0 - u[k] - v[k], u[k], v[k]]), 0.0, 1.0)
    return int(k), float(t[k]), bary / bary.sum()
