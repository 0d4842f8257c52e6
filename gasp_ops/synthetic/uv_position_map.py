"""Texel -> surface lookup of a UV layout: which face, where on it, which 3-D rest-pose point and normal.

The UV triangles are rasterised with the exact mesh rasteriser (a camera looking at the UV square placed on the
plane z = 1), so texel (i, j) - centre u = (j + 0.5) / W, v = 1 - (i + 0.5) / H, the convention of
``sample_texture`` - gets the UV face containing its centre. Texels outside every chart take the values of the
nearest covered texel (so bilinear lookups at chart borders never blend in unrelated colours).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.ndimage as ndi
import torch

from gasp_ops.cameras import Cameras
from gasp_ops.raster.mesh_raster import rasterize_mesh


@dataclass
class UVPositionMap:
    """face [H, W] int64 (face id, after nearest fill), covered [H, W] bool, position [H, W, 3], normal [H, W, 3]
    (rest pose, float64), region [H, W] int64 (index into ``REGIONS``)."""

    face: np.ndarray
    covered: np.ndarray
    position: np.ndarray
    normal: np.ndarray
    region: np.ndarray


def rasterize_uv(uvs: np.ndarray, uv_faces: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Face id [H, W] (-1 outside) and barycentrics [H, W, 3] of each texel centre in the UV layout."""
    uv = torch.as_tensor(np.asarray(uvs), dtype=torch.float64)
    verts = torch.stack([uv[:, 0], 1.0 - uv[:, 1], torch.ones_like(uv[:, 0])], dim=-1)
    K = torch.tensor([[float(width), 0.0, 0.0], [0.0, float(height), 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    cam = Cameras(torch.eye(4, dtype=torch.float64)[None], K[None], int(width), int(height))
    frags = rasterize_mesh(verts, torch.as_tensor(np.asarray(uv_faces), dtype=torch.long), cam, near=0.5)
    return frags.face_id[0].numpy(), frags.barycentrics[0].numpy().astype(np.float64)


def uv_position_map(vertices: np.ndarray, normals: np.ndarray, faces: np.ndarray, uvs: np.ndarray,
                    uv_faces: np.ndarray, regions: np.ndarray, size: int) -> UVPositionMap:
    """``UVPositionMap`` of a size x size texture for the mesh (rest vertices [V, 3], unit normals [V, 3])."""
    fid, bary = rasterize_uv(uvs, uv_faces, size, size)
    covered = fid >= 0
    if covered.any() and not covered.all():
        _, (ri, ci) = ndi.distance_transform_edt(~covered, return_indices=True)
        fid = fid[ri, ci]
        bary = bary[ri, ci]
    elif not covered.any():
        fid = np.zeros_like(fid)
        bary = np.full(bary.shape, 1.0 / 3.0)
    corners = faces[fid]  # [H, W, 3]
    pos = (vertices[corners] * bary[..., None]).sum(-2)
    nrm = (normals[corners] * bary[..., None]).sum(-2)
    nrm /= np.maximum(np.linalg.norm(nrm, axis=-1, keepdims=True), 1e-12)
    return UVPositionMap(face=fid, covered=covered, position=pos, normal=nrm, region=regions[fid])
