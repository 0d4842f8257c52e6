"""Per-face region labels (indices into ``REGIONS``: scalp, face, ears, neck, eyes, mouth) of the procedural head."""

from __future__ import annotations

import numpy as np

from gasp_ops.headmodel.procedural import anatomy as A
from gasp_ops.headmodel.procedural.uv_layout import ear_mask, neckline_y
from gasp_ops.headmodel.topology import REGIONS


def hairline_y(p: np.ndarray) -> np.ndarray:
    """Height [...] of the hairline above points ``p`` [..., 3]: high on the forehead, low at the sideburns."""
    az = np.degrees(np.arctan2(np.abs(p[..., 0]), p[..., 2] + 0.01))
    return np.interp(az, [0.0, 35.0, 62.0, 80.0, 96.0, 130.0], [A.HAIRLINE_Y, A.HAIRLINE_Y - 0.006, 0.045, 0.03, -0.03, -0.08])


def face_regions(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Region index [F] of every face, from the mean-head vertices [V, 3] and faces [F, 3]."""
    tri = vertices[faces]
    c = tri.mean(1)
    x, y, z = c[:, 0], c[:, 1], c[:, 2]
    lab = np.full(len(faces), REGIONS.index("face"))
    lab[y > hairline_y(c)] = REGIONS.index("scalp")
    lab[y < neckline_y(z)] = REGIONS.index("neck")
    lab[ear_mask(tri).all(1)] = REGIONS.index("ears")
    ym = A.mouth_line_y(np.minimum(np.abs(x), A.MOUTH_HALF_WIDTH))
    lips = (np.abs(x) < A.MOUTH_HALF_WIDTH + 0.002) & (y < ym + 0.0095) & (y > ym - 0.0115) & (z > 0.07)
    lab[lips] = REGIONS.index("mouth")
    for side in (1, -1):
        d = np.linalg.norm(tri - A.eye_centre(side), axis=-1)
        lab[(d < A.EYE_RADIUS + 0.0006).all(1)] = REGIONS.index("eyes")
    return lab
