"""Landmark-based measurements of a head in its rest pose, for any ``HeadModel`` (+y up, +z out of the face).

Everything the appearance generator places (hairline, brows, beard area, collar) is expressed relative to these
measurements, so it adapts to the identity's shape and to other head models (FLAME) with no model-specific code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gasp_ops.headmodel.topology import REGIONS, HeadTopology


@dataclass(frozen=True)
class HeadAnatomy:
    """Rest-pose reference points of one head (metres, float64 numpy).

    vertices [V, 3]; landmarks [68, 3] (iBUG-68); axis_x, axis_z: vertical head axis through the skull centre;
    y_crown, y_brow, y_eye, y_nose, y_mouth, y_chin, y_bottom: heights; scale: chin-to-crown height;
    neck_centre [3], neck_half [2] (x, z half extents at the bottom of the mesh).
    """

    vertices: np.ndarray
    landmarks: np.ndarray
    axis_x: float
    axis_z: float
    y_crown: float
    y_brow: float
    y_eye: float
    y_nose: float
    y_mouth: float
    y_chin: float
    y_bottom: float
    scale: float
    neck_centre: np.ndarray
    neck_half: np.ndarray

    def azimuth(self, p: np.ndarray) -> np.ndarray:
        """Degrees [...] around the head axis: 0 in front of the face, +90 the subject's left, +-180 behind."""
        return np.degrees(np.arctan2(p[..., 0] - self.axis_x, p[..., 2] - self.axis_z))

    def radius(self, p: np.ndarray) -> np.ndarray:
        """Horizontal distance [...] from the head axis."""
        return np.hypot(p[..., 0] - self.axis_x, p[..., 2] - self.axis_z)

    def rel(self, y: np.ndarray | float) -> np.ndarray:
        """Height in units of the chin-to-crown height, 0 at the chin."""
        return (np.asarray(y) - self.y_chin) / self.scale


def measure_head(vertices: np.ndarray, topology: HeadTopology) -> HeadAnatomy:
    """``HeadAnatomy`` of rest-pose vertices [V, 3] (numpy or tensor) with ``topology``."""
    v = np.asarray(vertices, dtype=np.float64)
    faces = topology.faces.cpu().numpy()
    idx = faces[topology.landmark_faces.cpu().numpy()]
    lm = (v[idx] * topology.landmark_barycentrics.cpu().numpy()[..., None]).sum(1)
    regions = topology.face_regions.cpu().numpy()
    skull_faces = np.isin(regions, [REGIONS.index("scalp"), REGIONS.index("face")])
    skull = v[np.unique(faces[skull_faces])] if skull_faces.any() else v
    y_eye = float(lm[36:48, 1].mean())
    upper = skull[skull[:, 1] > y_eye]
    if len(upper) < 4:
        upper = v
    axis_x = float(0.5 * (lm[36, 0] + lm[45, 0]))
    axis_z = float(0.5 * (upper[:, 2].min() + upper[:, 2].max()))
    y_crown = float(v[:, 1].max())
    y_chin = float(lm[8, 1])
    y_bottom = float(v[:, 1].min())
    scale = max(y_crown - y_chin, 1e-3)
    low = v[v[:, 1] < y_bottom + 0.08 * scale]
    neck_centre = np.array([low[:, 0].mean(), y_bottom, 0.5 * (low[:, 2].min() + low[:, 2].max())])
    neck_half = np.array([np.abs(low[:, 0] - neck_centre[0]).max(), np.abs(low[:, 2] - neck_centre[2]).max()])
    return HeadAnatomy(
        vertices=v, landmarks=lm, axis_x=axis_x, axis_z=axis_z, y_crown=y_crown,
        y_brow=float(lm[17:27, 1].mean()), y_eye=y_eye, y_nose=float(lm[33, 1]), y_mouth=float(lm[48:68, 1].mean()),
        y_chin=y_chin, y_bottom=y_bottom, scale=scale, neck_centre=neck_centre, neck_half=neck_half,
    )
