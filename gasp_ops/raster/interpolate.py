"""Interpolation of per-vertex (or per-corner) attributes at rasterised samples with their barycentrics."""

from __future__ import annotations

import torch

from gasp_ops.errors import GaspInputError
from gasp_ops.raster.fragments import Fragments
from gasp_ops.validation import check_tensor


def interpolate(fragments: Fragments, faces: torch.Tensor, attr: torch.Tensor) -> torch.Tensor:
    """Attribute values at every sample: out = sum_k barycentrics[..., k] * attr[faces[face_id, k]].

    fragments: from ``rasterize_mesh`` (C images of H x W samples).
    faces: [F, 3] integer indices into ``attr``'s N rows (the mesh faces for vertex attributes, ``uv_faces`` for
        UV coordinates): face_id f of the fragments must address row f of ``faces``.
    attr: [N, D] shared by all images, or [C or 1, N, D] floating point.
    Returns [C, H, W, D] in ``attr``'s dtype; zero where no face is visible.
    """
    C = fragments.face_id.shape[0]
    if not isinstance(attr, torch.Tensor):
        raise GaspInputError("attr", f"expected a torch.Tensor, got {type(attr).__name__}")
    if attr.ndim == 2:
        attr = attr[None]
    check_tensor("attr", attr, [None, "N", "D"])
    if attr.shape[0] not in (1, C):
        raise GaspInputError("attr", f"batch size must be 1 or {C} (the number of images), got {attr.shape[0]}")
    if not attr.is_floating_point():
        raise GaspInputError("attr", f"expected a floating-point tensor, got {attr.dtype}")
    faces = _check_index_faces("faces", faces, attr.shape[1])
    fid = fragments.face_id
    if fragments.num_faces is not None and faces.shape[0] != fragments.num_faces:
        raise GaspInputError("faces", f"expected {fragments.num_faces} rows (one per rasterised face), "
                                      f"got {faces.shape[0]}")
    if fid.numel() and int(fid.max()) >= faces.shape[0]:
        raise GaspInputError("faces", f"has {faces.shape[0]} rows but the fragments refer to face {int(fid.max())}")
    faces = faces.to(attr.device)
    corner = faces[fid.clamp_min(0)]  # [C, H, W, 3]
    if attr.shape[0] == 1:
        values = attr[0][corner]  # [C, H, W, 3, D]
    else:
        cam = torch.arange(C, device=attr.device).view(C, 1, 1, 1)
        values = attr[cam, corner]
    bary = fragments.barycentrics.to(attr.dtype)
    out = values[..., 0, :] * bary[..., 0:1] + values[..., 1, :] * bary[..., 1:2] + values[..., 2, :] * bary[..., 2:3]
    return torch.where(fid[..., None] >= 0, out, torch.zeros((), dtype=out.dtype, device=out.device))


def _check_index_faces(name: str, faces, n: int) -> torch.Tensor:
    """Check an [F, 3] integer index tensor addressing ``n`` rows; returns it as long."""
    check_tensor(name, faces, ["F", 3])
    if faces.is_floating_point() or faces.is_complex() or faces.dtype == torch.bool:
        raise GaspInputError(name, f"expected an integer tensor, got {faces.dtype}")
    faces = faces.long()
    if faces.numel():
        lo, hi = int(faces.min()), int(faces.max())
        if lo < 0 or hi >= n:
            raise GaspInputError(name, f"indices must be in [0, {n}), got values in [{lo}, {hi}]")
    return faces
