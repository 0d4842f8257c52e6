"""Per-triangle local frames (GaussianAvatars, Qian et al. 2024).

For triangle (v0, v1, v2): the origin is the centroid; the first axis is the normalised edge v1 - v0; the
third axis is the unit normal (v1 - v0) x (v2 - v0); the second is their cross product (normal x edge), which
lies in the triangle plane. The isotropic scale is the mean of the length of edge v0->v1 and the length of the
triangle's height perpendicular to that edge (the distance of v2 from the line through v0, v1).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class TriangleFrames:
    """Frames of F triangles, batched over B meshes.

    origins: [B, F, 3] triangle centroids.
    rotations: [B, F, 3, 3] columns are the frame axes (edge, in-plane perpendicular, normal) in world space.
    scales: [B, F] isotropic scale (metres).
    """

    origins: torch.Tensor
    rotations: torch.Tensor
    scales: torch.Tensor


def triangle_frames(vertices: torch.Tensor, faces: torch.Tensor, eps: float = 1e-12) -> TriangleFrames:
    """Frames for every face of a batch of meshes.

    vertices: [B, V, 3] (or [V, 3], treated as B = 1); faces: [F, 3] long. Differentiable and vectorised.
    """
    if vertices.ndim == 2:
        vertices = vertices[None]
    tri = vertices[:, faces]  # [B, F, 3, 3]
    v0, v1, v2 = tri.unbind(-2)
    e1 = v1 - v0
    e2 = v2 - v0
    e1_len = e1.norm(dim=-1).clamp_min(eps)
    a0 = e1 / e1_len[..., None]
    normal = torch.linalg.cross(e1, e2, dim=-1)
    double_area = normal.norm(dim=-1).clamp_min(eps)
    a2 = normal / double_area[..., None]
    a1 = torch.linalg.cross(a2, a0, dim=-1)
    height = double_area / e1_len  # distance of v2 from the line v0-v1
    return TriangleFrames(
        origins=tri.mean(-2),
        rotations=torch.stack([a0, a1, a2], dim=-1),
        scales=0.5 * (e1_len + height),
    )
