"""Tracked-mesh overlays: the fitted head mesh, shaded, half-transparent over the frame, plus its landmarks
(green) and the detected ones (red)."""

from __future__ import annotations

import numpy as np
import torch

from gasp_ops.cameras import Cameras
from gasp_ops.capture.projection import project
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.raster.mesh_raster import rasterize_mesh


def mesh_overlay(image: np.ndarray, head: HeadModel, vertices: torch.Tensor, camera: Cameras,
                 detected: np.ndarray | None = None, opacity: float = 0.55) -> np.ndarray:
    """uint8 RGB [H, W, 3]: ``image`` with the mesh (posed vertices [V, 3]) seen by ``camera`` (one camera)."""
    import cv2

    v = vertices.detach().float()
    faces = head.topology.faces
    frags = rasterize_mesh(v, faces, camera)
    fid = frags.face_id[0]
    tri = v[faces]
    fn = torch.linalg.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0], dim=-1)
    fn = fn / fn.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    R = camera.world_to_cam[0, :3, :3]
    n_cam = fn @ R.T
    shade = (0.25 + 0.75 * (-n_cam[:, 2]).abs()).numpy()
    covered = (fid >= 0).numpy()
    s = np.zeros(covered.shape, np.float32)
    s[covered] = shade[fid.numpy()[covered]]
    colour = np.stack([0.55 * s, 0.75 * s, 1.0 * s], -1) * 255
    out = image.astype(np.float32).copy()
    out[covered] = (1 - opacity) * out[covered] + opacity * colour[covered]
    # edges of the visible faces, thin
    edges = cv2.Canny((covered * 255).astype(np.uint8), 50, 150) > 0
    out[edges] = (255, 255, 80)
    out = out.clip(0, 255).astype(np.uint8)
    lm, _ = project(head.landmarks(v[None]), camera)
    r = max(1, round(min(image.shape[:2]) / 200))
    if detected is not None and np.isfinite(detected).all():
        for x, y in detected:
            cv2.circle(out, (int(x), int(y)), r, (255, 40, 40), -1)
    for x, y in lm[0, 0].numpy():
        cv2.circle(out, (int(x), int(y)), r, (40, 255, 40), -1)
    return out
