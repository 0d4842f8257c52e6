"""Cheap differentiable vertex normals for a fixed subset of mesh vertices (central differences on the one-ring).

``vertex_normals`` (area-weighted over every face) costs a gather and a scatter over all faces per frame, forward
and backward; the shading term of the tracker needs normals of a few thousand vertices at every step. Here each
vertex gets a fixed stencil, chosen once on a rest mesh: the two one-ring neighbours furthest apart along one
tangent direction and the two along the perpendicular one. The normal is the cross product of the two central
differences, oriented like the rest normal - four gathers and one cross product.
"""

from __future__ import annotations

import numpy as np
import torch


def _one_ring_extremes(src: np.ndarray, dst: np.ndarray, key: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """For every vertex 0..n-1 with edges src -> dst: the neighbour with the smallest and the largest ``key``."""
    order = np.lexsort((key, src))
    s, d = src[order], dst[order]
    first = np.ones(len(s), dtype=bool)
    first[1:] = s[1:] != s[:-1]
    last = np.ones(len(s), dtype=bool)
    last[:-1] = s[:-1] != s[1:]
    lo = np.full(n, -1)
    hi = np.full(n, -1)
    lo[s[first]] = d[first]
    hi[s[last]] = d[last]
    return lo, hi


class StencilNormals:
    """Unit normals [T, N, 3] of vertices ``ids`` [N] of meshes [T, V, 3] sharing ``faces`` [F, 3] (long).

    The stencils come from ``rest`` [V, 3] (e.g. the template); the orientation is that of the rest mesh's
    area-weighted normals (outwards for a consistently wound mesh)."""

    def __init__(self, faces: torch.Tensor, rest: torch.Tensor, ids: torch.Tensor):
        f = faces.cpu().numpy()
        p = rest.detach().cpu().double().numpy()
        V = len(p)
        fn = np.cross(p[f[:, 1]] - p[f[:, 0]], p[f[:, 2]] - p[f[:, 0]])
        normal = np.zeros_like(p)
        for k in range(3):
            np.add.at(normal, f[:, k], fn)
        normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
        # tangent frame per vertex: t1 = the world axis least aligned with the normal, made tangent; t2 = n x t1
        axes = np.eye(3)[np.argmin(np.abs(normal), axis=1)]
        t1 = axes - (axes * normal).sum(1, keepdims=True) * normal
        t1 /= np.maximum(np.linalg.norm(t1, axis=1, keepdims=True), 1e-12)
        t2 = np.cross(normal, t1)
        edges = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
        edges = np.unique(np.concatenate([edges, edges[:, ::-1]]), axis=0)
        src, dst = edges[:, 0], edges[:, 1]
        delta = p[dst] - p[src]
        lo1, hi1 = _one_ring_extremes(src, dst, (delta * t1[src]).sum(1), V)
        lo2, hi2 = _one_ring_extremes(src, dst, (delta * t2[src]).sum(1), V)
        idx = ids.cpu().numpy()
        stencil = np.stack([hi1[idx], lo1[idx], hi2[idx], lo2[idx]], 1)
        if (stencil < 0).any():
            raise ValueError("StencilNormals: a requested vertex has no neighbours")
        self.stencil = torch.as_tensor(stencil, dtype=torch.long)
        a, b, c, d = (p[stencil[:, k]] for k in range(4))
        sign = np.sign((np.cross(a - b, c - d) * normal[idx]).sum(1))
        self.sign = torch.as_tensor(np.where(sign == 0, 1.0, sign), dtype=rest.dtype)[:, None]

    def __call__(self, vertices: torch.Tensor) -> torch.Tensor:
        q = vertices.index_select(1, self.stencil.reshape(-1)).view(vertices.shape[0], -1, 4, 3)
        n = torch.linalg.cross(q[:, :, 0] - q[:, :, 1], q[:, :, 2] - q[:, :, 3], dim=-1) * self.sign.to(vertices)
        return n / n.norm(dim=-1, keepdim=True).clamp_min(1e-12)
