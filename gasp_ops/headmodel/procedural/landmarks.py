"""iBUG-68 landmark embedding of the procedural head (standard order; point 0 is on the subject's right, -x)."""

from __future__ import annotations

import numpy as np

from gasp_ops.headmodel.procedural import anatomy as A
from gasp_ops.headmodel.procedural.raycast import intersect


def _eye_points(side: int) -> list[tuple[float, float]]:
    """(x, y) of the six eye landmarks in iBUG order (right eye: outer, upper x2, inner, lower x2; left mirrored)."""
    c = A.eye_centre(side)
    a = A.EYE_HALF_LENGTH * 0.97

    def lid(u, upper):
        s = np.clip(u / A.EYE_HALF_LENGTH, -1, 1)
        v = (0.0060 * (1 - s * s) ** 0.7 * (1 - 0.15 * s) + 0.0004) if upper else (
            -0.0042 * (1 - s * s) ** 0.85 * (1 + 0.1 * s) - 0.0004)
        return c[0] + side * u, c[1] + v + 0.06 * u

    if side < 0:  # right eye: 36 outer, 37, 38 upper, 39 inner, 40, 41 lower
        us = [(a, None), (a / 3, True), (-a / 3, True), (-a, None), (-a / 3, False), (a / 3, False)]
    else:  # left eye: 42 inner, 43, 44 upper, 45 outer, 46, 47 lower
        us = [(-a, None), (-a / 3, True), (a / 3, True), (a, None), (a / 3, False), (-a / 3, False)]
    return [lid(u, True if up is None else up) if up is not None else (c[0] + side * u, c[1] + 0.06 * u) for u, up in us]


def landmark_targets() -> tuple[np.ndarray, np.ndarray]:
    """Ray origins [68, 3] and unit directions [68, 3] whose first surface hits are the 68 landmarks."""
    orig, dirs = [], []
    front = np.array([0.0, 0.0, -1.0])
    # 0-16 jaw contour, subject's right ear -> chin -> left ear, cast inwards in the frontal plane.
    for k in range(17):
        t = k / 16.0
        th = np.pi * t
        cx = -np.sign(np.cos(th)) * np.abs(np.cos(th)) ** 0.8
        x, y = 0.069 * cx, 0.004 - 0.106 * np.sin(th) ** 1.1
        n = np.array([x / 0.069 ** 2, (y + 0.045) / 0.06 ** 2, 0.0])
        n /= np.linalg.norm(n)
        p = np.array([x, y, 0.035 + 0.035 * np.sin(th)])
        orig.append(p + 0.08 * n)
        dirs.append(-n)
    xy = []
    xy += [(-0.056, 0.036), (-0.046, 0.042), (-0.035, 0.045), (-0.024, 0.044), (-0.013, 0.041)]      # 17-21
    xy += [(0.013, 0.041), (0.024, 0.044), (0.035, 0.045), (0.046, 0.042), (0.056, 0.036)]           # 22-26
    xy += [(0.0, 0.024), (0.0, 0.011), (0.0, -0.002), (0.0, -0.0155)]                                # 27-30
    xy += [(-0.0105, -0.0285), (-0.0055, -0.0315), (0.0, -0.033), (0.0055, -0.0315), (0.0105, -0.0285)]  # 31-35
    xy += _eye_points(-1) + _eye_points(1)                                                           # 36-47
    ym = A.mouth_line_y
    xy += [(-0.0245, ym(0.0245)), (-0.016, ym(0.016) + 0.0065), (-0.006, ym(0.006) + 0.0095), (0.0, ym(0.0) + 0.0085),
           (0.006, ym(0.006) + 0.0095), (0.016, ym(0.016) + 0.0065), (0.0245, ym(0.0245)),
           (0.016, ym(0.016) - 0.0085), (0.006, ym(0.006) - 0.0115), (0.0, ym(0.0) - 0.0118),
           (-0.006, ym(0.006) - 0.0115), (-0.016, ym(0.016) - 0.0085)]                             # 48-59
    xy += [(-0.020, ym(0.020)), (-0.007, ym(0.007) + 0.0012), (0.0, ym(0.0) + 0.0012), (0.007, ym(0.007) + 0.0012),
           (0.020, ym(0.020)), (0.007, ym(0.007) - 0.0012), (0.0, ym(0.0) - 0.0012), (-0.007, ym(0.007) - 0.0012)]  # 60-67
    for x, y in xy:
        orig.append(np.array([x, y, 0.3]))
        dirs.append(front)
    return np.array(orig), np.array(dirs)


def embed_landmarks(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Landmark face ids [68] and barycentrics [68, 3] on the mean head (vertices [V, 3], faces [F, 3])."""
    orig, dirs = landmark_targets()
    fids, bary = [], []
    for o, d in zip(orig, dirs):
        f, _, b = intersect(o, d, vertices, faces, first=True)
        fids.append(f)
        bary.append(b)
    return np.array(fids), np.array(bary)
