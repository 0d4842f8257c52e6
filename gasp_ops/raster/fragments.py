"""Per-sample rasterisation output of a triangle mesh: which face each sample sees, where on it, how far away."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Fragments:
    """What each sample of C images of H x W samples sees (the nearest surface only).

    face_id: [C, H, W] long, index into ``faces`` of the visible face; -1 for background.
    barycentrics: [C, H, W, 3] float32, perspective-correct weights of the face's corners at the sample
        (>= 0, sum to one; zero for background). Interpolating camera-space (or world-space) corner positions with
        them gives the 3D point the sample's ray hits.
    depth: [C, H, W] float32, camera-space z of that point; +inf for background.
    supersample: s, the number of samples per pixel along each axis. Sample (a, b) lies at pixel coordinates
        x = (b + 0.5) / s, y = (a + 0.5) / s of the camera's (non-supersampled) image, so with s = 1 a sample is a
        pixel centre, and with s odd sample (i * s + s // 2, j * s + s // 2) is exactly pixel (i, j)'s centre.
    """

    face_id: torch.Tensor
    barycentrics: torch.Tensor
    depth: torch.Tensor
    supersample: int = 1
    num_faces: int | None = None

    @property
    def covered(self) -> torch.Tensor:
        """Boolean [C, H, W] mask of samples that see a face."""
        return self.face_id >= 0

    def __len__(self) -> int:
        return self.face_id.shape[0]
