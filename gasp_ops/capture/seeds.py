"""GrabCut seeds from a tracked head: definite foreground = the face region of the mesh (eroded), probable
foreground = the whole head mesh dilated plus a body box below it."""

from __future__ import annotations

import numpy as np
import torch

from gasp_ops.cameras import Cameras
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.headmodel.topology import REGIONS
from gasp_ops.raster.mesh_raster import rasterize_mesh


def grabcut_seeds(head: HeadModel, vertices: torch.Tensor, camera: Cameras) -> tuple[np.ndarray, np.ndarray]:
    """(sure_fg [H, W] bool, probable_fg [H, W] bool) for posed vertices [V, 3] in one camera."""
    import cv2

    frags = rasterize_mesh(vertices.detach().float(), head.topology.faces, camera)
    fid = frags.face_id[0].numpy()
    regions = head.topology.face_regions.numpy()
    covered = fid >= 0
    face = np.zeros_like(covered)
    face[covered] = np.isin(regions[fid[covered]], [REGIONS.index("face"), REGIONS.index("mouth"),
                                                    REGIONS.index("eyes")])
    H, W = covered.shape
    k = max(3, int(0.04 * max(H, W)) | 1)
    sure = cv2.erode(face.astype(np.uint8), np.ones((k, k), np.uint8)) > 0
    prob = cv2.dilate(covered.astype(np.uint8), np.ones((2 * k + 1, 2 * k + 1), np.uint8)) > 0
    if covered.any():  # shoulders / neck: a box below the head, 2.2 head-widths wide
        ys, xs = np.nonzero(covered)
        cx, w = xs.mean(), xs.max() - xs.min()
        y0 = int(ys.min() + 0.75 * (ys.max() - ys.min()))
        prob[y0:, max(0, int(cx - 1.1 * w)):min(W, int(cx + 1.1 * w))] = True
    return sure, prob
