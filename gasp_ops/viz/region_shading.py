"""Preview colours for a bare head model: a colour per region, shaded by a fixed head-space light."""

from __future__ import annotations

import torch

from gasp_ops.binding.triangle_frames import triangle_frames
from gasp_ops.headmodel.topology import REGIONS

#: Albedo per region (linear RGB), in ``REGIONS`` order: scalp, face, ears, neck, eyes, mouth.
REGION_ALBEDO = torch.tensor(
    [
        [0.28, 0.18, 0.11],  # scalp: brown hair
        [0.86, 0.66, 0.55],  # face: skin
        [0.82, 0.60, 0.50],  # ears
        [0.80, 0.62, 0.52],  # neck
        [0.92, 0.92, 0.90],  # eyes
        [0.78, 0.46, 0.43],  # mouth: lips
    ]
)
assert REGION_ALBEDO.shape[0] == len(REGIONS)


def shaded_region_colors(
    vertices: torch.Tensor,
    faces: torch.Tensor,
    face_regions: torch.Tensor,
    face_ids: torch.Tensor,
    light_dir: tuple[float, float, float] = (0.35, 0.45, 0.82),
    fill_dir: tuple[float, float, float] = (-0.3, 0.5, -0.8),
    ambient: float = 0.35,
    fill: float = 0.5,
) -> torch.Tensor:
    """Per-Gaussian colours [N, 3] for Gaussians bound to ``face_ids`` [N] on a mesh ``vertices`` [V, 3].

    Lambertian shading of the region albedo with a key light in head space (default: front, above, subject's
    left) and a weaker fill light from behind, so shape reads in previews from every side without a texture.
    """
    frames = triangle_frames(vertices[None], faces)
    normals = frames.rotations[0, :, :, 2]  # [F, 3]
    def lambert(direction):
        d = torch.tensor(direction, dtype=normals.dtype)
        return (normals @ (d / d.norm())).clamp_min(0.0)

    shade = ambient + (1.0 - ambient) * torch.maximum(lambert(light_dir), fill * lambert(fill_dir))
    albedo = REGION_ALBEDO.to(normals.dtype)[face_regions]
    return (albedo * shade[:, None])[face_ids].clamp(0.0, 1.0)
