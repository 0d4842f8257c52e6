"""A differentiable soft silhouette of a mesh: UV-bound Gaussians of the mesh (``gasp_ops.avatar``) rendered with
``gasp_ops.render`` (alpha only). The mesh rasteriser (``gasp_ops.raster``) is exact but not differentiable."""

from __future__ import annotations

import torch

from gasp_ops.avatar import GaussianAvatar, pose
from gasp_ops.binding.uv_init import uv_binding
from gasp_ops.cameras import Cameras
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.render.render import render


class SoftSilhouette:
    """Soft silhouettes of ``head`` meshes: ``__call__(vertices [B, V, 3], cameras (B)) -> alpha [B, H, W]``.

    faces: optional bool [F] mask of the faces to cover (e.g. without the neck); resolution: UV binding size
    (64 -> ~2.5k Gaussians on the procedural head); scale: Gaussian size factor (> 1 closes gaps)."""

    def __init__(self, head: HeadModel, resolution: int = 64, faces: torch.Tensor | None = None, scale: float = 1.6):
        b = uv_binding(head.topology, resolution)
        avatar = GaussianAvatar.from_binding(head.topology, b, head.template.detach().cpu(), opacity=0.99)
        if faces is not None:
            keep = faces.to(avatar.face_ids.device)[avatar.face_ids]
            avatar = GaussianAvatar(faces=avatar.faces, face_ids=avatar.face_ids[keep],
                                    barycentrics=avatar.barycentrics[keep], offsets=avatar.offsets[keep],
                                    log_scales=avatar.log_scales[keep] + torch.log(torch.tensor(scale)),
                                    quats=avatar.quats[keep], colors=avatar.colors[keep],
                                    opacity_logits=avatar.opacity_logits[keep])
        else:
            avatar.log_scales = avatar.log_scales + torch.log(torch.tensor(scale))
        self.avatar = avatar

    def __call__(self, vertices: torch.Tensor, cameras: Cameras) -> torch.Tensor:
        g = pose(self.avatar, vertices)
        return render(g, cameras, backend="reference").alpha[..., 0]
