"""Identity basis: smooth, named, anatomical displacement fields on the mean head.

Each component is a low-frequency vector field (global affine-like deformations and Gaussian-windowed local
translations/scalings around landmarks), evaluated at the mean-head vertices. Coefficient 1.0 is about one
standard deviation of adult variation (e.g. head breadth +-5.5 mm, nose width +-3 mm, interpupillary +-3.5 mm).
"""

from __future__ import annotations

import numpy as np

from gasp_ops.headmodel.procedural import anatomy as A
from gasp_ops.headmodel.procedural.fields import gauss, smoothstep
from gasp_ops.headmodel.procedural.uv_layout import ear_mask


def _pair(p, c, s):
    """Gaussians [V] centred at ``c`` (left, +x) and at its mirror image (right)."""
    c = np.asarray(c, dtype=np.float64)
    return gauss(p, c, s), gauss(p, c * np.array([-1.0, 1.0, 1.0]), s)


def _vec(V, x=0.0, y=0.0, z=0.0):
    out = np.zeros((V, 3))
    out[:, 0], out[:, 1], out[:, 2] = x, y, z
    return out


def _ear_field(p):
    """Smooth ear window [V] (1 on the pinna, fading over ~1 cm) and ear-local centred coordinates."""
    a, b = A.ear_coords(p, 1)
    r = np.sqrt((a / A.EAR_HALF_LENGTH) ** 2 + (b / A.EAR_HALF_WIDTH) ** 2)
    w = smoothstep(r, 1.5, 1.0) * smoothstep(np.abs(p[:, 0]), 0.045, 0.062)
    return w, a, b


def identity_fields(p: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(name, displacement [V, 3]) of every identity component at mean-head vertices ``p`` [V, 3]."""
    V = len(p)
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    head = smoothstep(y, -0.12, -0.06)
    front = smoothstep(z, 0.0, 0.05)
    sx = np.tanh(x / 0.01)
    out = []

    def add(name, d):
        out.append((name, d))

    eyeL, eyeR = A.eye_centre(1), A.eye_centre(-1)
    wL, wR = _pair(p, eyeL, (0.016, 0.014, 0.03))
    ew, ea, eb = _ear_field(p)
    ym = A.mouth_line_y(np.minimum(np.abs(x), A.MOUTH_HALF_WIDTH))
    lips = gauss(p, (0, A.MOUTH_Y, 0.095), (0.02, 0.011, 0.02))

    add("head_size", 0.028 * (p - np.array([0.0, 0.0, -0.005])) * head[:, None])
    add("head_width", _vec(V, x=0.036 * x * head))
    add("head_length", _vec(V, z=0.033 * (z + 0.01) * head))
    add("cranial_height", _vec(V, y=0.035 * (y - 0.01) * smoothstep(y, -0.01, 0.06)))
    add("face_length", _vec(V, y=0.045 * (y - 0.015) * smoothstep(y, 0.03, -0.01)))
    add("occiput_bulge", gauss(p, (0, 0.02, -0.105), 0.035)[:, None] * np.array([0.0, 0.001, -0.004]))
    add("crown_height", _vec(V, y=0.004 * gauss(p, (0, 0.125, -0.01), 0.04)))
    add("forehead_slope", _vec(V, z=-0.005 * smoothstep(y, 0.03, 0.11) * front * gauss(p, (0, 0.07, 0.08), (0.05, 0.06, 0.05))))
    gl, gr = _pair(p, (0.055, 0.06, 0.05), 0.025)
    add("forehead_width", _vec(V, x=0.003 * (gl - gr)))
    bl, br = _pair(p, (0.025, 0.036, 0.085), (0.022, 0.008, 0.02))
    add("brow_ridge", _vec(V, z=0.0018 * (bl + br)))
    bl, br = _pair(p, (0.03, 0.038, 0.08), (0.022, 0.011, 0.025))
    add("brow_height", _vec(V, y=0.0022 * (bl + br)))
    add("eye_spacing", _vec(V, x=0.0018 * (wL - wR)))
    add("eye_height", _vec(V, y=0.002 * (wL + wR)))
    add("eye_size", 0.06 * ((p - eyeL) * wL[:, None] + (p - eyeR) * wR[:, None]))
    add("eye_depth", _vec(V, z=-0.0016 * (wL + wR)))
    tl, tr = (p - eyeL), (p - eyeR)
    add("eye_tilt", 0.06 * (np.stack([-tl[:, 1], tl[:, 0], 0 * x], 1) * wL[:, None] - np.stack([-tr[:, 1], tr[:, 0], 0 * x], 1) * wR[:, None]))
    add("nose_length", _vec(V, y=-0.003 * gauss(p, (0, -0.022, 0.105), (0.013, 0.012, 0.02))))
    add("nose_protrusion", _vec(V, z=0.0024 * gauss(p, (0, -0.012, 0.11), (0.01, 0.014, 0.02))))
    add("nose_width", _vec(V, x=0.09 * x * gauss(p, (0, -0.026, 0.1), (0.022, 0.009, 0.02))))
    add("nose_bridge_height", _vec(V, z=0.0016 * gauss(p, (0, 0.012, 0.095), (0.007, 0.012, 0.02))))
    add("nose_bridge_width", _vec(V, x=0.12 * x * gauss(p, (0, 0.01, 0.09), (0.013, 0.012, 0.02))))
    add("nose_tip_upturn", _vec(V, y=0.0018 * gauss(p, (0, -0.021, 0.11), (0.008, 0.006, 0.015)),
                                z=-0.0006 * gauss(p, (0, -0.021, 0.11), (0.008, 0.006, 0.015))))
    add("nose_hump", _vec(V, z=0.0012 * gauss(p, (0, 0.004, 0.1), (0.005, 0.006, 0.02))))
    al, ar = _pair(p, (0.015, -0.027, 0.095), (0.005, 0.005, 0.012))
    add("nostril_flare", _vec(V, x=0.0015 * (al - ar), z=0.0005 * (al + ar)))
    cl, cr = _pair(p, (0.06, 0.0, 0.04), (0.015, 0.015, 0.03))
    add("cheekbone_width", _vec(V, x=0.003 * (cl - cr)))
    cl, cr = _pair(p, (0.048, 0.0, 0.06), (0.014, 0.012, 0.02))
    add("cheekbone_prominence", _vec(V, z=0.0025 * (cl + cr)))
    cl, cr = _pair(p, (0.04, -0.03, 0.07), (0.014, 0.015, 0.02))
    add("cheek_fullness", _vec(V, x=0.0018 * (cl - cr), z=0.0018 * (cl + cr)))
    add("midface_depth", _vec(V, z=0.003 * gauss(p, (0, -0.02, 0.09), (0.03, 0.025, 0.03))))
    add("mouth_width", _vec(V, x=0.08 * x * gauss(p, (0, A.MOUTH_Y, 0.095), (0.03, 0.01, 0.02))))
    ul = gauss(p, (0, A.MOUTH_Y + 0.005, 0.1), (0.017, 0.004, 0.01))
    ll = gauss(p, (0, A.MOUTH_Y - 0.006, 0.098), (0.017, 0.005, 0.01))
    add("upper_lip_fullness", _vec(V, y=0.0008 * ul, z=0.0015 * ul))
    add("lower_lip_fullness", _vec(V, y=-0.0008 * ll, z=0.0018 * ll))
    add("philtrum_length", _vec(V, y=-0.002 * gauss(p, (0, -0.07, 0.09), (0.03, 0.022, 0.03))))
    add("mouth_protrusion", _vec(V, z=0.0025 * gauss(p, (0, A.MOUTH_Y, 0.095), (0.022, 0.014, 0.02))))
    jl, jr = _pair(p, (0.052, -0.068, 0.0), (0.018, 0.02, 0.03))
    add("jaw_width", _vec(V, x=0.0035 * (jl - jr)))
    jl, jr = _pair(p, (0.05, -0.072, 0.0), (0.015, 0.015, 0.025))
    add("jaw_angle_height", _vec(V, y=0.003 * (jl + jr)))
    add("jaw_length", _vec(V, z=0.004 * smoothstep(z, -0.02, 0.07) * smoothstep(y, -0.045, -0.08) * head))
    add("chin_height", _vec(V, y=-0.003 * gauss(p, (0, -0.1, 0.075), (0.02, 0.013, 0.02))))
    add("chin_width", _vec(V, x=0.15 * x * gauss(p, (0, -0.095, 0.075), (0.02, 0.014, 0.02))))
    add("chin_prominence", _vec(V, z=0.003 * gauss(p, (0, -0.09, 0.088), (0.015, 0.012, 0.02))))
    add("submental_fullness", _vec(V, y=-0.0035 * gauss(p, (0, -0.105, 0.035), (0.03, 0.015, 0.03))))
    ear_c = np.stack([np.sign(x) * 0.072, 0 * x + A.EAR_Y, 0 * x + A.EAR_Z], 1)
    add("ear_size", 0.08 * (p - ear_c) * ew[:, None])
    back = np.clip(-eb / A.EAR_HALF_WIDTH, 0, 1.5)
    add("ear_protrusion", _vec(V, x=0.004 * sx * ew * back))
    add("ear_height", _vec(V, y=0.003 * ew))
    rel = p - ear_c
    add("ear_rotation", 0.08 * np.stack([0 * x, -rel[:, 2], rel[:, 1]], 1) * ew[:, None])
    add("ear_lobe", _vec(V, y=-0.002 * ew * smoothstep(ea, -0.01, -0.03)))
    neck = smoothstep(y, -0.07, -0.1)
    zc = -0.022 - 0.16 * (y + 0.06)
    add("neck_thickness", np.stack([0.09 * x, 0 * x, 0.09 * (z - zc)], 1) * neck[:, None])
    add("neck_length", _vec(V, y=-0.006 * smoothstep(y, -0.09, -0.16)))
    add("neck_forward", _vec(V, z=0.006 * smoothstep(y, -0.09, -0.17)))
    add("midline_shift", _vec(V, x=0.0015 * gauss(p, (0, -0.03, 0.1), (0.03, 0.05, 0.03))))
    tl_, tr_ = _pair(p, (0.066, 0.035, 0.045), (0.012, 0.015, 0.02))
    add("temple_hollow", _vec(V, x=-0.002 * (tl_ - tr_)))
    pl, pr = _pair(p, (0.07, 0.07, -0.03), (0.02, 0.03, 0.04))
    add("parietal_width", _vec(V, x=0.004 * (pl - pr)))
    add("occipital_low", _vec(V, z=-0.003 * gauss(p, (0, -0.03, -0.095), (0.04, 0.02, 0.03))))
    fl, fr = _pair(p, (0.045, -0.01, 0.06), (0.02, 0.04, 0.03))
    add("face_flatness", _vec(V, z=0.003 * (fl + fr)))
    nl, nr = _pair(p, (0.027, -0.04, 0.085), (0.004, 0.01, 0.02))
    add("nasolabial_depth", _vec(V, z=-0.0012 * (nl + nr)))
    ml, mr = _pair(p, (0.055, -0.045, 0.01), (0.012, 0.02, 0.02))
    add("masseter_bulk", _vec(V, x=0.003 * (ml - mr)))
    add("face_width", _vec(V, x=0.035 * x * smoothstep(z, -0.02, 0.04) * smoothstep(y, 0.05, 0.0) * head))
    add("skull_asymmetry", _vec(V, z=0.002 * np.tanh(x / 0.03) * gauss(p, (0, 0.03, -0.09), 0.05)))
    add("lip_height", _vec(V, y=0.0012 * np.tanh((y - ym) / 0.004) * lips))
    hl, hr = _pair(p, (0.045, -0.045, 0.05), (0.012, 0.012, 0.02))
    add("cheek_hollow", _vec(V, x=-0.0015 * (hl - hr), z=-0.0012 * (hl + hr)))
    add("midface_height", _vec(V, y=-0.002 * smoothstep(y, 0.01, -0.03) * front * head))
    add("eye_protrusion", _vec(V, z=0.0015 * (gauss(p, eyeL, 0.013) + gauss(p, eyeR, 0.013))))
    return out


def identity_names() -> tuple[str, ...]:
    """Names of the identity components, in basis order."""
    return tuple(n for n, _ in identity_fields(np.zeros((1, 3)) + np.array([[0.0, 0.0, 0.09]])))


def build_identity_basis(vertices: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Identity basis [V, 3, K] (metres per standard deviation) at mean-head vertices [V, 3], and component names."""
    fields = identity_fields(vertices)
    return np.stack([d for _, d in fields], -1), tuple(n for n, _ in fields)
