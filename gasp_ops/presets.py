"""Named scale presets: ``tiny`` (CPU, CI, demo) and ``paper`` (the paper's scale, on a GPU)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from gasp_ops.errors import GaspInputError


@dataclass(frozen=True)
class Preset:
    """Scale settings shared by the pipeline's assets.

    name: preset name.
    uv_resolution: UV-map resolution R for Gaussian initialisation. The paper's 512 gives 187,776 Gaussians on
        FLAME's UV map (72 % coverage); the procedural head's map covers 60 %, so ``paper`` uses 558 -> 188,102
        Gaussians, the paper's count (see docs/benchmarks.md).
    image_size: rendered image side in pixels.
    preview_identities: random identities in the head-model contact sheet.
    preview_views: azimuths (degrees) of the contact sheet's views; 0 = front, 90 = subject's left side.
    binding_report_resolutions: UV resolutions whose Gaussian counts are reported.
    synthetic_identities: identities in the synthetic prior dataset (paper: 1,000).
    synthetic_views: rendered views per identity (paper: 50).
    synthetic_image_size: side of the synthetic renders in pixels (paper: 512).
    texture_size: side of each identity's skin texture in texels.
    supersample: anti-aliasing factor of the synthetic mesh renders (odd keeps annotations exact).
    """

    name: str
    uv_resolution: int
    image_size: int
    preview_identities: int
    preview_views: tuple[float, ...]
    binding_report_resolutions: tuple[int, ...]
    synthetic_identities: int
    synthetic_views: int
    synthetic_image_size: int
    texture_size: int
    supersample: int

    def as_dict(self) -> dict:
        return asdict(self)


PRESETS: dict[str, Preset] = {
    "tiny": Preset(
        name="tiny",
        uv_resolution=128,
        image_size=128,
        preview_identities=4,
        preview_views=(0.0, 45.0, 90.0, 180.0),
        binding_report_resolutions=(64, 128, 256, 512),
        synthetic_identities=8,
        synthetic_views=12,
        synthetic_image_size=128,
        texture_size=256,
        supersample=3,
    ),
    "paper": Preset(
        name="paper",
        uv_resolution=558,
        image_size=512,
        preview_identities=8,
        preview_views=(0.0, 45.0, 90.0, 135.0, 180.0, -90.0),
        binding_report_resolutions=(64, 128, 256, 512),
        synthetic_identities=1000,
        synthetic_views=50,
        synthetic_image_size=512,
        texture_size=1024,
        supersample=3,
    ),
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; unknown names raise a one-line error listing the known ones."""
    if name not in PRESETS:
        raise GaspInputError("preset", f"unknown preset {name!r}; known presets: {', '.join(sorted(PRESETS))}")
    return PRESETS[name]
