"""Upper-body clothing: a torso (shoulders and chest) below the neck, with a collar hiding the neck's end.

Built from rings of rounded-rectangle cross sections (half width, half depth, superellipse exponent) whose size is
scaled with the head; stored in rest pose and moved with the root joint (``PartMesh`` mode 'root').
"""

from __future__ import annotations

import numpy as np

from gasp_ops.synthetic.anatomy import HeadAnatomy
from gasp_ops.synthetic.mesh_utils import grid_faces, orient_outwards
from gasp_ops.synthetic.part_mesh import PartMesh

#: Torso profile from the collar down: (drop below the collar top, half width, half depth, exponent), metres for a
#: 0.234 m (chin-to-crown) head; the first two rows are replaced by the neck size plus a margin.
PROFILE = (
    (0.000, None, None, 2.0),
    (0.010, None, None, 2.0),
    (0.030, 0.115, 0.090, 2.3),
    (0.050, 0.170, 0.100, 2.8),
    (0.080, 0.195, 0.108, 3.2),
    (0.130, 0.200, 0.112, 3.4),
    (0.330, 0.185, 0.110, 3.4),
)


def build_clothing(a: HeadAnatomy, rings: int = 28, segments: int = 72) -> PartMesh:
    """Torso ``PartMesh`` (mode 'root'); u runs around the body (0 at the back), v from the hem (0) to the collar."""
    s = a.scale / 0.234
    margin = 0.006 * s
    top = a.y_bottom + 0.04 * s
    nx, nz = a.neck_half + margin
    prof = np.array([(d * s,
                      (nx + (0.004 * s if i else 0.0)) if w is None else w * s,
                      (nz + (0.004 * s if i else 0.0)) if dp is None else dp * s, e)
                     for i, (d, w, dp, e) in enumerate(PROFILE)])
    t = np.linspace(0.0, 1.0, rings) ** 1.6 * prof[-1, 0]
    drop = t
    hw = np.interp(drop, prof[:, 0], prof[:, 1])
    hd = np.interp(drop, prof[:, 0], prof[:, 2])
    ex = np.interp(drop, prof[:, 0], prof[:, 3])
    ang = np.linspace(-np.pi, np.pi, segments, endpoint=False)  # 0 = front (+z)
    c, sn = np.cos(ang), np.sin(ang)
    cx, cz = a.neck_centre[0], a.neck_centre[2]
    # the chest sits a little in front of the neck centre as the torso widens
    shift = np.interp(drop, [0.0, 0.05 * s, 0.33 * s], [0.0, 0.012 * s, 0.02 * s])
    e = ex[:, None]
    sx = np.sign(sn) * np.abs(sn) ** (2.0 / e)
    sz = np.sign(c) * np.abs(c) ** (2.0 / e)
    x = cx + hw[:, None] * sx
    z = cz + shift[:, None] + hd[:, None] * sz
    y = np.repeat((top - drop)[:, None], segments, 1)
    pts = np.stack([x, y, z], -1).reshape(-1, 3)
    faces = grid_faces(rings, segments, wrap=True)
    faces = orient_outwards(pts, faces, np.array([cx, 0.0, cz]))
    # UVs: per-corner, with the wrap seam at the back handled per face.
    u = np.tile((ang + np.pi) / (2 * np.pi), rings)
    v = np.repeat(1.0 - t / t[-1], segments)
    cu, cv = u[faces], v[faces]
    span = cu.max(1) - cu.min(1)
    cu = np.where((span > 0.5)[:, None] & (cu < 0.5), cu + 1.0, cu) / (1.0 + 1.0 / segments)
    uvs = np.stack([0.02 + 0.96 * cu.reshape(-1), 0.02 + 0.96 * cv.reshape(-1)], 1)
    uv_faces = np.arange(3 * len(faces), dtype=np.int64).reshape(-1, 3)
    return PartMesh("root", pts, np.full(len(pts), -1, np.int64), np.zeros_like(pts), faces, uvs, uv_faces)
