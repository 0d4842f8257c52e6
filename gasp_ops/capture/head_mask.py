"""Head-region segmentation: the matte minus the torso and clothes below the tracked 3DMM's neck cut.

The cut is a plane through the neck ``below_chin`` metres under the chin landmark (8), normal to the skull's up
direction (chin -> nose bridge, landmark 27, orthogonalised against the face's forward direction). A pixel is kept
when the matte covers it and the point on its ray at the head's depth lies above the plane, or when the tracked
head mesh (without its neck faces) covers it.
"""

from __future__ import annotations

import numpy as np
import torch

from gasp_ops.cameras import Cameras
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.headmodel.topology import REGIONS
from gasp_ops.raster.mesh_raster import rasterize_mesh


def neck_plane(head: HeadModel, vertices: torch.Tensor, below_chin: float = 0.025) -> tuple[np.ndarray, np.ndarray]:
    """(point [3], unit normal [3] pointing to the head) of the neck cut for posed vertices [V, 3]."""
    lm = head.landmarks(vertices[None].float())[0].double()
    chin, bridge = lm[8], lm[27]
    left, right = lm[45], lm[36]
    up = bridge - chin
    side = left - right
    fwd = torch.linalg.cross(side, up)
    up = torch.linalg.cross(fwd, side)
    up = up / up.norm()
    if float(up @ (bridge - chin)) < 0:
        up = -up
    return (chin - below_chin * up).numpy(), up.numpy()


def head_mask(matte: np.ndarray, head: HeadModel, vertices: torch.Tensor, camera: Cameras,
              below_chin: float = 0.025) -> np.ndarray:
    """Boolean head mask [H, W] from matte [H, W] (float), posed vertices [V, 3] and one camera."""
    import cv2

    H, W = matte.shape
    p0, n = neck_plane(head, vertices.detach(), below_chin)
    M = camera.world_to_cam[0].double().numpy()
    K = camera.K[0].double().numpy()
    p0c, nc = M[:3, :3] @ p0 + M[:3, 3], M[:3, :3] @ n
    z_head = float((M[:3, :3] @ vertices.detach().double().numpy().mean(0) + M[:3, 3])[2])
    jj, ii = np.meshgrid(np.arange(W) + 0.5, np.arange(H) + 0.5)
    rays = np.stack([jj, ii, np.ones_like(jj)], -1) @ np.linalg.inv(K).T
    above = ((rays * z_head - p0c) @ nc) > 0
    keep_faces = head.topology.face_regions != REGIONS.index("neck")
    faces = head.topology.faces[keep_faces]
    frags = rasterize_mesh(vertices.detach().float(), faces, camera)
    mesh = frags.face_id[0].numpy() >= 0
    mask = ((matte > 0.5) & above) | (mesh & (matte > 0.5))
    n_lab, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n_lab > 2:
        biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        mask = labels == biggest
    return mask
