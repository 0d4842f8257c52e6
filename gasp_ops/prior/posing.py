"""Posing per-frame Gaussian attributes: ``gasp_ops.avatar.pose`` generalised to attributes batched over frames.

``avatar.pose`` takes one avatar for every frame; the prior decodes a different avatar per (subject, view), so
here every attribute carries the frame dimension. Same maths (Qian et al. frames, see ``gasp_ops.avatar``).
"""

from __future__ import annotations

import torch

from gasp_ops.binding.triangle_frames import triangle_frames
from gasp_ops.render.gaussians import Gaussians3D
from gasp_ops.rotations import matrix_to_quaternion, quaternion_multiply


def pose_batched(faces: torch.Tensor, face_ids: torch.Tensor, barycentrics: torch.Tensor,
                 attributes: dict[str, torch.Tensor], vertices: torch.Tensor) -> Gaussians3D:
    """World-space Gaussians [B, N, ...] for per-frame local attributes.

    faces [F, 3]; face_ids [N]; barycentrics [N, 3]; attributes: offsets [B, N, 3], log_scales [B, N, 3],
    quats [B, N, 4], colors [B, N, 3], opacity_logits [B, N]; vertices [B, V, 3]. Differentiable in everything.
    """
    used, inverse = torch.unique(face_ids, return_inverse=True)
    frames = triangle_frames(vertices, faces[used])
    R = frames.rotations[:, inverse]  # [B, N, 3, 3]
    k = frames.scales[:, inverse]  # [B, N]
    corners = vertices[:, faces[face_ids]]  # [B, N, 3, 3]
    origin = (corners * barycentrics[None, :, :, None].to(vertices.dtype)).sum(-2)
    dt = vertices.dtype
    means = origin + k[..., None] * (R @ attributes["offsets"].to(dt)[..., None])[..., 0]
    quats = quaternion_multiply(matrix_to_quaternion(R), attributes["quats"].to(dt))
    scales = k[..., None] * torch.exp(attributes["log_scales"].to(dt))
    return Gaussians3D(means=means, quats=quats, scales=scales,
                       opacities=torch.sigmoid(attributes["opacity_logits"].to(dt)),
                       colors=attributes["colors"].to(dt).clamp(0.0, 1.0))
