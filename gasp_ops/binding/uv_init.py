"""UV-map initialisation (Xiang et al., FlashAvatar; GASP §3.4).

Rasterise the mesh's UV layout at R x R texels. Every covered texel becomes one Gaussian, bound to the face that
covers it, with its local origin at the texel centre's barycentric point on that face.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.topology import HeadTopology
from gasp_ops.raster.triangles2d import rasterize_triangles_2d


@dataclass
class UVBinding:
    """Gaussians bound to faces by UV rasterisation.

    face_ids: [N] long, the bound face of each Gaussian.
    barycentrics: [N, 3] float32, the Gaussian's origin within its face (3D corner weights).
    texels: [N, 2] long, (row, column) of the texel it came from; row 0 is the top of the UV image (v = 1); -1 for a
    layout read back from a saved prior (``gasp_ops.prior.checkpoint.saved_binding``).
    resolution: R.
    """

    face_ids: torch.Tensor
    barycentrics: torch.Tensor
    texels: torch.Tensor
    resolution: int

    @property
    def count(self) -> int:
        return int(self.face_ids.shape[0])


def uv_binding(topology: HeadTopology, resolution: int) -> UVBinding:
    """Bind one Gaussian per covered texel of an R x R rasterisation of ``topology``'s UV layout."""
    if not isinstance(resolution, int) or resolution < 2 or resolution > 8192:
        raise GaspInputError("uv_resolution", f"must be an integer in [2, 8192], got {resolution!r}")
    uv = topology.uvs.detach().to(torch.float64)
    points = torch.stack([uv[:, 0] * resolution, (1.0 - uv[:, 1]) * resolution], dim=-1)
    cov = rasterize_triangles_2d(points, topology.uv_faces, resolution, resolution)
    if cov.face_ids.numel() == 0:
        raise GaspInputError("topology.uvs", f"the UV layout covers no texel at resolution {resolution}")
    return UVBinding(
        face_ids=cov.face_ids,
        barycentrics=cov.barycentrics.to(torch.float32),
        texels=cov.pixels,
        resolution=resolution,
    )
