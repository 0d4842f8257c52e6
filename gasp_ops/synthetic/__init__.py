"""Synthetic people on the built-in head model (paper §4 substitute): identities, appearance assets (skin texture,
hair, facial hair, clothing), expressions, cameras and annotated renders.

Public API::

    sample_identity(index, seed, head, domain="prior", overrides=None) -> SyntheticIdentity
    build_assets(head, identity, texture_size=256, device=None) -> IdentityAssets
    sample_expression(index, seed, head) -> (expression [n_expression], HeadPose batch 1)
    sample_expressions(indices, seed, head) -> (expressions [K, n_expression], HeadPose batch K)
    sample_cameras(n, seed, image_size, azimuth_range=(-180, 180), elevation_range=(-20, 45), *, head=None, ...)
        -> (Cameras, azimuth_deg [n], elevation_deg [n])
    render_views(head, identity, expressions, poses, cameras, domain="prior", supersample=3, *, assets=None, ...)
        -> SyntheticViews
"""

from gasp_ops.synthetic.assets import PARTS, TILES, IdentityAssets, build_assets
from gasp_ops.synthetic.attributes import (
    AGE_GROUPS, CLOTHING_PATTERNS, EYE_COLOURS, FACIAL_HAIR_STYLES, HAIR_COLOURS, HAIRSTYLES,
)
from gasp_ops.synthetic.cameras import fixed_cameras, head_framing, sample_cameras
from gasp_ops.synthetic.expression import sample_expression, sample_expressions
from gasp_ops.synthetic.identity import DOMAINS, OVERRIDABLE, SyntheticIdentity, sample_identity, with_overrides
from gasp_ops.synthetic.render import SyntheticViews, render_views

__all__ = [
    "AGE_GROUPS", "CLOTHING_PATTERNS", "DOMAINS", "EYE_COLOURS", "FACIAL_HAIR_STYLES", "HAIRSTYLES", "HAIR_COLOURS",
    "IdentityAssets", "OVERRIDABLE", "PARTS", "SyntheticIdentity", "SyntheticViews", "TILES", "build_assets",
    "fixed_cameras", "head_framing", "render_views", "sample_cameras", "sample_expression", "sample_expressions",
    "sample_identity", "with_overrides",
]
