"""Expression blendshapes: named facial actions (coefficient 1.0 = full activation), jaw opening is a joint.

Most shapes are smooth material displacement fields around the mouth, cheeks, brows and nose. Eye closing,
squinting and widening re-cast the lid surface with the lids moved (the mesh stays a graph over its rays), so the
lids slide over the eyeball without folding.
"""

from __future__ import annotations

import numpy as np

from gasp_ops.headmodel.procedural import anatomy as A
from gasp_ops.headmodel.procedural.fields import gauss, smoothstep
from gasp_ops.headmodel.procedural.mesh import head_field, ray_cast
from gasp_ops.headmodel.procedural.skinning import jaw_weight

EXPRESSION_NAMES: tuple[str, ...] = (
    "smile_left", "smile_right", "frown", "brow_inner_raise", "brow_outer_raise", "brow_lower",
    "blink_left", "blink_right", "eye_squint", "eye_wide", "lip_funnel", "lip_pucker", "cheek_puff", "lip_press",
    "mouth_stretch", "nose_wrinkle", "dimpler", "lip_corner_down", "upper_lip_raise", "lower_lip_depress",
    "jaw_forward", "mouth_left", "mouth_right", "chin_raise", "cheek_suck",
)


def _lid_slide(p: np.ndarray, side: int, openness: float) -> np.ndarray:
    """Vertical material shift [V] that slides lid skin towards the closing line (monotone, so no folds)."""
    c = A.eye_centre(side)
    u = (p[:, 0] - c[0]) * side
    v = p[:, 1] - c[1] - 0.06 * u
    s = np.clip(u / A.EYE_HALF_LENGTH, -1.0, 1.0)
    up = 0.0060 * (1.0 - s * s) ** 0.7 * (1.0 - 0.15 * s) + 0.0004
    lo = -0.0042 * (1.0 - s * s) ** 0.85 * (1.0 + 0.1 * s) - 0.0004
    mid = lo + 0.22 * (up - lo)
    k = 0.85 * (1.0 - openness)
    window = smoothstep(np.abs(u), A.EYE_HALF_LENGTH + 0.004, A.EYE_HALF_LENGTH - 0.002) * (p[:, 2] > c[2] - 0.01)
    above = smoothstep(v - up, 0.007, 0.0) * (v > mid)
    below = smoothstep(lo - v, 0.005, 0.0) * (v <= mid)
    return -k * (v - mid) * (above + below) * window


def _lids(vertices: np.ndarray, dirs: np.ndarray, eye_open: tuple[float, float]) -> np.ndarray:
    """Displacement [V, 3] that moves the eyelids to openness ``eye_open`` = (left, right).

    The lid skin slides vertically (material motion) and the surface is re-cast along the moved rays with the
    lids at the new openness, so vertices stay on the (closed-lid) surface.
    """
    out = np.zeros_like(vertices)
    moved = vertices.copy()
    near = np.zeros(len(vertices), dtype=bool)
    for side, o in ((1, eye_open[0]), (-1, eye_open[1])):
        near |= np.linalg.norm(vertices - A.eye_centre(side), axis=1) < 0.028
        moved[:, 1] += _lid_slide(vertices, side, o)
    idx = np.nonzero(near)[0]
    d = moved[idx] - A.RAY_ORIGIN
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    r1 = ray_cast(d, lambda q: head_field(q, eye_open))
    out[idx] = A.RAY_ORIGIN + r1[:, None] * d - vertices[idx]
    return out


def expression_fields(vertices: np.ndarray, dirs: np.ndarray) -> dict[str, np.ndarray]:
    """Displacement [V, 3] of every expression in ``EXPRESSION_NAMES`` at mean-head vertices [V, 3]."""
    p = vertices
    V = len(p)
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    ax = np.abs(x)
    ym = A.mouth_line_y(np.minimum(ax, A.MOUTH_HALF_WIDTH))
    upper = smoothstep(y, ym - 0.0008, ym + 0.0008)
    mouth = gauss(p, (0, A.MOUTH_Y, 0.095), (0.021, 0.012, 0.02)) * smoothstep(z, 0.05, 0.08)
    lip_core = gauss(p, (0, A.MOUTH_Y, 0.095), (0.017, 0.009, 0.015))
    cw = (0.013, 0.012, 0.025)

    def corner(side):
        return gauss(p, (side * (A.MOUTH_HALF_WIDTH + 0.001), A.MOUTH_Y + 0.0035, 0.088), cw)

    def v(x_=0.0, y_=0.0, z_=0.0):
        o = np.zeros((V, 3))
        o[:, 0], o[:, 1], o[:, 2] = x_, y_, z_
        return o

    f: dict[str, np.ndarray] = {}
    for name, side in (("smile_left", 1), ("smile_right", -1)):
        c = corner(side)
        cheek = gauss(p, (side * 0.038, -0.02, 0.07), (0.016, 0.014, 0.03))
        lid = gauss(p, (side * A.EYE_X, A.EYE_Y - 0.009, 0.075), (0.012, 0.004, 0.02))
        f[name] = v(side * 0.0055 * c, 0.0075 * c + 0.0025 * cheek + 0.0012 * lid, -0.0035 * c + 0.002 * cheek)
    inner = gauss(p, (0.0, 0.036, 0.085), (0.02, 0.011, 0.03))
    il, ir = gauss(p, (0.014, 0.036, 0.085), (0.011, 0.011, 0.03)), gauss(p, (-0.014, 0.036, 0.085), (0.011, 0.011, 0.03))
    f["frown"] = v(-0.0025 * (il - ir), -0.003 * inner, 0.0008 * inner)
    f["brow_inner_raise"] = v(0.0, 0.0055 * (il + ir) + 0.002 * gauss(p, (0, 0.06, 0.085), (0.03, 0.02, 0.03)), 0.0)
    ol, orr = gauss(p, (0.042, 0.035, 0.075), (0.013, 0.012, 0.03)), gauss(p, (-0.042, 0.035, 0.075), (0.013, 0.012, 0.03))
    f["brow_outer_raise"] = v(0.0, 0.0055 * (ol + orr), 0.0)
    bw = gauss(p, (0.03, 0.037, 0.08), (0.022, 0.01, 0.03)) + gauss(p, (-0.03, 0.037, 0.08), (0.022, 0.01, 0.03))
    f["brow_lower"] = v(0.0, -0.004 * bw, 0.0008 * bw)
    f["blink_left"] = _lids(p, dirs, (0.0, 1.0))
    f["blink_right"] = _lids(p, dirs, (1.0, 0.0))
    cheeks = gauss(p, (0.034, -0.005, 0.075), (0.014, 0.01, 0.03)) + gauss(p, (-0.034, -0.005, 0.075), (0.014, 0.01, 0.03))
    f["eye_squint"] = _lids(p, dirs, (0.45, 0.45)) + v(0.0, 0.002 * cheeks, 0.0005 * cheeks)
    f["eye_wide"] = _lids(p, dirs, (1.3, 1.3)) + v(0.0, 0.0015 * bw, 0.0)
    sgn = np.tanh((y - ym) / 0.004)
    f["lip_funnel"] = v(-0.12 * x * mouth, 0.0025 * sgn * lip_core, 0.006 * mouth)
    f["lip_pucker"] = v(-0.3 * x * mouth, -0.15 * (y - ym) * lip_core, 0.0075 * mouth)
    pl, pr = gauss(p, (0.04, -0.045, 0.06), (0.014, 0.016, 0.03)), gauss(p, (-0.04, -0.045, 0.06), (0.014, 0.016, 0.03))
    f["cheek_puff"] = v(0.005 * (pl - pr), 0.0, 0.0045 * (pl + pr))
    f["lip_press"] = v(0.0, -0.25 * (y - ym) * lip_core, -0.002 * lip_core)
    cl, cr = corner(1), corner(-1)
    f["mouth_stretch"] = v(0.005 * (cl - cr), -0.002 * (cl + cr), -0.0025 * (cl + cr))
    nose = gauss(p, (0.0, -0.02, 0.1), (0.02, 0.012, 0.03))
    alae = gauss(p, (0.015, -0.026, 0.095), (0.007, 0.007, 0.02)) + gauss(p, (-0.015, -0.026, 0.095), (0.007, 0.007, 0.02))
    f["nose_wrinkle"] = v(0.0, 0.0035 * alae + 0.0015 * nose + 0.0015 * upper * mouth, 0.0)
    f["dimpler"] = v(0.0012 * (cl - cr), 0.0, -0.0035 * (cl + cr))
    f["lip_corner_down"] = v(0.0008 * (cl - cr), -0.0055 * (cl + cr), 0.0)
    ulip = gauss(p, (0, A.MOUTH_Y + 0.006, 0.095), (0.02, 0.007, 0.02)) * upper
    llip = gauss(p, (0, A.MOUTH_Y - 0.007, 0.095), (0.02, 0.008, 0.02)) * (1 - upper)
    f["upper_lip_raise"] = v(0.0, 0.0045 * ulip, 0.001 * ulip)
    f["lower_lip_depress"] = v(0.0, -0.0045 * llip, 0.001 * llip)
    f["jaw_forward"] = v(0.0, 0.0, 0.005 * jaw_weight(p))
    wide = gauss(p, (0, A.MOUTH_Y, 0.09), (0.028, 0.015, 0.03))
    f["mouth_left"] = v(0.007 * wide, 0.0, 0.0)
    f["mouth_right"] = v(-0.007 * wide, 0.0, 0.0)
    chin = gauss(p, (0, -0.085, 0.085), (0.018, 0.016, 0.02))
    f["chin_raise"] = v(0.0, 0.0035 * chin + 0.0015 * llip, 0.0015 * llip + 0.001 * chin)
    f["cheek_suck"] = v(-0.004 * (pl - pr), 0.0, -0.003 * (pl + pr))
    return {k: f[k] for k in EXPRESSION_NAMES}


def build_expression_basis(vertices: np.ndarray, dirs: np.ndarray) -> np.ndarray:
    """Expression basis [V, 3, len(EXPRESSION_NAMES)] at mean-head vertices [V, 3] with ray directions [V, 3]."""
    f = expression_fields(vertices, dirs)
    return np.stack([f[k] for k in EXPRESSION_NAMES], -1)
