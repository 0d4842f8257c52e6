"""Anatomical reference points of the procedural mean head (metres; +x subject's left, +y up, +z out of the face).

Shared by the surface, the bases, skinning, regions and landmarks so that they all agree. Proportions follow
average adult anthropometry: head breadth ~15 cm, chin to crown ~23 cm, interpupillary distance ~64 mm.
"""

from __future__ import annotations

import numpy as np

#: Every surface point is ``RAY_ORIGIN + r(d) * d`` for a unit direction ``d``: the surface is star-shaped.
RAY_ORIGIN = np.array([0.0, -0.02, -0.005])

CROWN_Y = 0.125           # top of the head
CHIN_Y = -0.105           # menton (bottom of the chin)
NECK_BOTTOM_Y = -0.175    # the neck ends in a closed, flat cap here
HAIRLINE_Y = 0.085        # front hairline at the midline

EYE_X = 0.032             # eyeball centres at (+-EYE_X, EYE_Y, EYE_Z)
EYE_Y = 0.014
EYE_Z = 0.0635
EYE_RADIUS = 0.0125
EYE_HALF_LENGTH = 0.015  # half the palpebral fissure length
BROW_Y = 0.034

NASION = np.array([0.0, 0.026, 0.083])
NOSE_TIP = np.array([0.0, -0.016, 0.113])
SUBNASALE = np.array([0.0, -0.034, 0.094])
ALA_X = 0.0165

MOUTH_Y = -0.056          # the mouth line (stomion) at the midline
MOUTH_HALF_WIDTH = 0.025
MOUTH_Z = 0.094

CHIN = np.array([0.0, -0.09, 0.088])        # pogonion (most forward point of the chin)
GONION_X, GONION_Y, GONION_Z = 0.051, -0.068, -0.002   # jaw angles
CHEEKBONE = np.array([0.052, 0.0, 0.05])    # zygoma (left; mirror for right)

EAR_Y = 0.004             # ear centre (height) and depth; the ear's long axis leans back by EAR_TILT radians
EAR_Z = -0.014
EAR_HALF_LENGTH = 0.031
EAR_HALF_WIDTH = 0.0175
EAR_TILT = 0.26

JAW_JOINT = np.array([0.0, -0.012, -0.012])
NECK_JOINT = np.array([0.0, -0.062, -0.022])
ROOT_JOINT = np.array([0.0, -0.045, -0.018])


def eye_centre(side: int) -> np.ndarray:
    """Eyeball centre [3] of the left (``side=+1``) or right (``side=-1``) eye."""
    return np.array([side * EYE_X, EYE_Y, EYE_Z])


def mouth_line_y(x: np.ndarray) -> np.ndarray:
    """Height [...] of the mouth line at lateral position ``x`` (the corners sit a little higher)."""
    return MOUTH_Y + 0.0035 * (np.asarray(x) / MOUTH_HALF_WIDTH) ** 2


def ear_coords(p: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Ear-local coordinates of points ``p`` [..., 3]: ``a`` along the ear (up), ``b`` across it (forward)."""
    dy = p[..., 1] - EAR_Y
    dz = p[..., 2] - EAR_Z
    c, s = np.cos(EAR_TILT), np.sin(EAR_TILT)
    return dy * c - dz * s, dz * c + dy * s
