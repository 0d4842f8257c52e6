"""Skinning weights and the joint regressor of the procedural head (joints: root, neck, jaw, eye_left, eye_right).

Root carries the base of the neck (the body side), neck the head, jaw the chin, lower lip and lower jaw (sharp at
the mouth line, fading smoothly over the cheeks, the jaw angles and under the chin), the eye joints the eyeballs.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import nnls

from gasp_ops.headmodel.procedural import anatomy as A
from gasp_ops.headmodel.procedural.fields import smoothstep
from gasp_ops.headmodel.procedural.raycast import intersect
from gasp_ops.headmodel.procedural.uv_layout import neckline_y

JOINT_POSITIONS = np.stack([A.ROOT_JOINT, A.NECK_JOINT, A.JAW_JOINT, A.eye_centre(1), A.eye_centre(-1)])


def jaw_weight(p: np.ndarray) -> np.ndarray:
    """Jaw skinning weight [...] of points ``p`` [..., 3] (1 on the chin and lower lip, 0 above the mouth line)."""
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    ym = A.mouth_line_y(np.minimum(np.abs(x), A.MOUTH_HALF_WIDTH))
    lateral = smoothstep(np.abs(x), 0.02, 0.05)
    below = smoothstep(y, ym + 0.0004 + 0.006 * lateral, ym - 0.0012 - 0.022 * lateral)
    back = smoothstep(z, -0.03, 0.005)
    under = smoothstep(y, neckline_y(z) - 0.02, neckline_y(z) + 0.004)
    return below * back * under


def eye_weight(p: np.ndarray, side: int) -> np.ndarray:
    """Eye-joint skinning weight [...] (1 on the exposed eyeball, fading to 0 within a millimetre of the lids)."""
    d = np.linalg.norm(p - A.eye_centre(side), axis=-1)
    return smoothstep(d, A.EYE_RADIUS + 0.0012, A.EYE_RADIUS + 0.0003) * (p[..., 2] > A.EYE_Z)


def skin_weights(vertices: np.ndarray) -> np.ndarray:
    """Skinning weights [V, 5] (rows sum to one) for the mean-head vertices [V, 3]."""
    root = smoothstep(vertices[:, 1], -0.105, -0.16)
    eyes = np.stack([eye_weight(vertices, 1), eye_weight(vertices, -1)], 1)
    jaw = jaw_weight(vertices) * (1.0 - eyes.sum(1))
    head = 1.0 - root
    w = np.stack([root, head * (1.0 - jaw - eyes.sum(1)), head * jaw, head * eyes[:, 0], head * eyes[:, 1]], 1)
    w = np.clip(w, 0.0, None)
    return w / w.sum(1, keepdims=True)


def joint_regressor(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Joint regressor [5, V]: non-negative rows summing to one that reproduce ``JOINT_POSITIONS`` on the mean head.

    Each joint is written as a convex combination of the surface vertices hit by rays cast from it in 14
    directions (axes and diagonals), so it follows the surrounding surface under identity changes.
    """
    dirs = [np.array(d, dtype=np.float64) for d in
            [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)]]
    dirs += [np.array([sx, sy, sz], dtype=np.float64) / np.sqrt(3) for sx in (1, -1) for sy in (1, -1) for sz in (1, -1)]
    reg = np.zeros((len(JOINT_POSITIONS), len(vertices)))
    for j, J in enumerate(JOINT_POSITIONS):
        cand = []
        for d in dirs:
            f, _, _ = intersect(J, d, vertices, faces, first=True)
            cand.extend(faces[f].tolist())
        cand = np.unique(cand)
        M = np.vstack([vertices[cand].T * 100.0, np.ones((1, len(cand)))])
        # Small ridge on far vertices keeps the weights on the closest ring that can span the joint.
        dist = np.linalg.norm(vertices[cand] - J, axis=1)
        M = np.vstack([M, np.diag(1e-3 * dist / dist.max())])
        b = np.concatenate([J * 100.0, [1.0], np.zeros(len(cand))])
        w, _ = nnls(M, b)
        reg[j, cand] = w / w.sum()
    return reg
