"""The base surface: an implicit anatomical head field, ray-cast from one interior point onto a geodesic sphere.

The surface is ``RAY_ORIGIN + r(d) * d`` over the unit directions ``d`` of a (locally refined) geodesic sphere, where
``r(d)`` is the outermost root of ``head_field`` along the ray. So the mesh is closed, watertight, free of
self-intersections and consistently oriented by construction: it inherits the sphere's topology.
"""

from __future__ import annotations

import numpy as np

from gasp_ops.headmodel.procedural import anatomy as A
from gasp_ops.headmodel.procedural.fields import (
    gauss, gauss1, sdf_ellipsoid, sdf_sphere, smin, smoothstep, soft_abs,
)
from gasp_ops.headmodel.procedural.sphere import focus_warp, geodesic_sphere


def _neck(p: np.ndarray) -> np.ndarray:
    """Signed field [...] of the neck: an elliptic, slightly forward-leaning column with a rounded flat cap."""
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    zc = -0.022 - 0.16 * (y + 0.06)
    rx, rz = 0.053, 0.056
    k0 = np.sqrt((x / rx) ** 2 + ((z - zc) / rz) ** 2)
    k1 = np.sqrt((x / rx ** 2) ** 2 + ((z - zc) / rz ** 2) ** 2)
    d2 = k0 * (k0 - 1.0) / np.maximum(k1, 1e-12)
    dy = np.maximum(A.NECK_BOTTOM_Y - y, y - 0.0)
    rnd = 0.016
    qa, qb = d2 + rnd, dy + rnd
    outside = np.sqrt(np.maximum(qa, 0) ** 2 + np.maximum(qb, 0) ** 2)
    return outside + np.minimum(np.maximum(qa, qb), 0.0) - rnd


def _skull(p: np.ndarray) -> np.ndarray:
    """Signed field [...] of the smooth head volume (cranium, midface, muzzle, mandible, chin, neck)."""
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    cranium = sdf_ellipsoid(p, (0.0, 0.028, -0.010), (0.074, 0.097, 0.100))
    parietal = sdf_ellipsoid(p, (0.0, 0.060, -0.018), (0.068, 0.064, 0.088))
    midface = sdf_ellipsoid(p, (0.0, -0.002, 0.022), (0.066, 0.058, 0.066))
    muzzle = sdf_ellipsoid(p, (0.0, -0.046, 0.050), (0.036, 0.034, 0.040))
    q = np.stack([x * (1.0 + 0.55 * smoothstep(z, 0.0, 0.09)), y + 0.40 * (z - 0.03), z], -1)
    mandible = sdf_ellipsoid(q, (0.0, -0.056, 0.018), (0.055, 0.040, 0.070))
    chin = sdf_ellipsoid(p, (0.0, -0.089, 0.070), (0.021, 0.016, 0.018))
    f = smin(smin(cranium, parietal, 0.02), midface, 0.02)
    f = smin(f, muzzle, 0.02)
    f = smin(f, mandible, 0.015)
    f = smin(f, chin, 0.012)
    return smin(f, _neck(p), 0.018)


def _nose(p: np.ndarray) -> np.ndarray:
    """Outward displacement [...] of the nose: bridge, tip, alae, nostrils."""
    x, y = p[..., 0], p[..., 1]
    ax = np.abs(x)
    t = np.clip((A.NASION[1] - y) / (A.NASION[1] - A.NOSE_TIP[1]), 0.0, 1.0)
    profile = 0.001 + 0.018 * t ** 1.15 + 0.0065 * gauss1(y, A.NOSE_TIP[1] + 0.001, 0.0075)
    profile = profile * smoothstep(y, A.SUBNASALE[1] - 0.0015, A.NOSE_TIP[1] - 0.0045)
    profile = profile * smoothstep(y, A.NASION[1] + 0.012, A.NASION[1])
    half = 0.0072 + 0.0062 * t + 0.003 * gauss1(y, A.NOSE_TIP[1], 0.006)
    s = soft_abs(x, 0.0025) / half
    tri = 1.0 - s
    cross = 0.5 * (tri + np.sqrt(tri * tri + 0.02)) / (0.5 * (1.0 + np.sqrt(1.02)))
    nose = profile * cross
    ala_c = np.array([A.ALA_X - 0.003, A.SUBNASALE[1] + 0.007])
    ra = np.sqrt(((ax - ala_c[0]) / 0.0055) ** 2 + ((y - ala_c[1]) / 0.0052) ** 2)
    alae = 0.0062 * np.exp(-0.5 * ra ** 2) - 0.0016 * gauss1(ra, 1.55, 0.22) * (y > ala_c[1] - 0.004)
    nostril = -0.0035 * np.exp(-0.5 * (((ax - 0.0068) / 0.0032) ** 2 + ((y - A.SUBNASALE[1] - 0.0025) / 0.0022) ** 2))
    return np.maximum(nose, 0.0) + alae + nostril


def _mouth(p: np.ndarray) -> np.ndarray:
    """Outward displacement [...] of the lips, mouth line, philtrum and chin groove."""
    x, y = p[..., 0], p[..., 1]
    ax = np.abs(x)
    ym = A.mouth_line_y(x)
    lw = smoothstep(ax, A.MOUTH_HALF_WIDTH + 0.002, A.MOUTH_HALF_WIDTH - 0.009)
    bow = 1.0 + 0.25 * gauss1(ax, 0.0055, 0.0035) - 0.12 * gauss1(ax, 0.0, 0.002)
    upper = 0.0052 * gauss1(y, ym + 0.0045 * bow, 0.0034) * lw
    lower = 0.0062 * gauss1(y, ym - 0.0058, 0.0043) * lw
    line = -0.0035 * gauss1(y, ym, 0.0013) * smoothstep(ax, A.MOUTH_HALF_WIDTH + 0.003, A.MOUTH_HALF_WIDTH - 0.003)
    corner = -0.0025 * np.exp(-0.5 * (((ax - A.MOUTH_HALF_WIDTH - 0.001) / 0.003) ** 2 + ((y - ym) / 0.003) ** 2))
    philtrum = (0.0012 * gauss1(ax, 0.0052, 0.0018) - 0.0006 * gauss1(ax, 0.0, 0.002)) * (
        smoothstep(y, ym + 0.006, ym + 0.010) * smoothstep(y, A.SUBNASALE[1] - 0.001, A.SUBNASALE[1] - 0.006))
    sulcus = -0.0028 * gauss1(y, ym - 0.0175, 0.0042) * smoothstep(ax, 0.03, 0.008)
    return upper + lower + line + corner + philtrum + sulcus


def _ear(p: np.ndarray) -> np.ndarray:
    """Outward (lateral) displacement [...] of both ears: pinna with helix, antihelix, concha, tragus and lobe."""
    side = np.where(p[..., 0] >= 0.0, 1.0, -1.0)
    a, b = A.ear_coords(p, 1)
    an = a / A.EAR_HALF_LENGTH
    w = A.EAR_HALF_WIDTH * (1.0 - 0.28 * smoothstep(an, -0.25, -1.0)) * (1.0 + 0.08 * smoothstep(an, 0.0, 0.7))
    bc = b + 0.002 * an
    bn = bc / w
    s = np.sqrt(an * an + bn * bn)
    back = np.clip((1.0 - bn) / 2.0, 0.0, 1.0)
    inside = smoothstep(s, 1.0 + 0.35 * back ** 2, 0.84)
    back = np.clip((1.0 - bn) / 2.0, 0.0, 1.0)
    base = (0.003 + 0.013 * back ** 1.3 + 0.004 * smoothstep(an, -0.1, 0.8)) * (1.0 - 0.35 * smoothstep(an, -0.55, -1.0))
    helix_mask = 1.0 - smoothstep(bn, 0.1, 0.6) * smoothstep(an, 0.45, 0.0)
    helix = 0.0035 * gauss1(s, 0.88, 0.06) * helix_mask
    antihelix = 0.0028 * gauss1(s, 0.58, 0.07) * helix_mask * smoothstep(an, -0.55, -0.1)
    concha = -0.010 * np.exp(-0.5 * (((an + 0.12) / 0.30) ** 2 + ((bn - 0.22) / 0.42) ** 2))
    tragus = 0.0045 * np.exp(-0.5 * (((an + 0.18) / 0.13) ** 2 + ((bn - 1.02) / 0.2) ** 2))
    lateral = smoothstep(np.abs(p[..., 0]), 0.045, 0.06)
    del side
    return ((base + helix + antihelix + concha) * inside + tragus) * lateral


def _face_relief(p: np.ndarray) -> np.ndarray:
    """Outward displacement [...] of brows, eye sockets, cheekbones, cheeks, temples and nasolabial folds."""
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    ax = np.abs(x)
    front = smoothstep(z, 0.02, 0.06)
    pa = np.stack([ax, y, z], -1)
    brow = 0.0045 * gauss1(y, A.BROW_Y + 0.001, 0.0065) * smoothstep(ax, 0.058, 0.040) * (1.0 + 0.3 * gauss1(ax, 0.025, 0.01))
    glabella = 0.0015 * np.exp(-0.5 * ((ax / 0.01) ** 2 + ((y - 0.03) / 0.008) ** 2))
    socket = -0.0085 * np.exp(-0.5 * (((ax - A.EYE_X - 0.001) / 0.017) ** 2 + ((y - A.EYE_Y - 0.002) / 0.011) ** 2))
    cheekbone = 0.0045 * gauss(pa, A.CHEEKBONE + np.array([0.0, 0.0, 0.01]), (0.014, 0.010, 0.025))
    cheek = 0.003 * gauss(pa, (0.036, -0.028, 0.07), (0.013, 0.014, 0.03))
    r_nl = np.sqrt(((ax - 0.026 - 0.25 * (-0.03 - y)) / 0.0022) ** 2)
    nasolabial = -0.0012 * np.exp(-0.5 * r_nl ** 2) * gauss1(y, -0.045, 0.012)
    temple = -0.003 * gauss(pa, (0.066, 0.035, 0.045), (0.010, 0.016, 0.02))
    return (brow + glabella + socket + cheekbone + cheek + nasolabial) * front + temple


def _eyelid_opening(p: np.ndarray, side: int, openness: float) -> np.ndarray:
    """Signed 2-D field [...] of the palpebral fissure of one eye: > 0 inside the opening."""
    c = A.eye_centre(side)
    u = (p[..., 0] - c[0]) * side
    v = p[..., 1] - c[1] - 0.06 * u
    s = np.clip(u / A.EYE_HALF_LENGTH, -1.0, 1.0)
    up = 0.0060 * (1.0 - s * s) ** 0.7 * (1.0 - 0.15 * s) + 0.0004
    lo = -0.0042 * (1.0 - s * s) ** 0.85 * (1.0 + 0.1 * s) - 0.0004
    mid = lo + 0.22 * (up - lo)
    up = mid + openness * (up - mid)
    lo = mid + openness * (lo - mid)
    return np.minimum(np.minimum(up - v, v - lo), A.EYE_HALF_LENGTH - np.abs(u))


def head_field(p: np.ndarray, eye_open: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Implicit head [...] at points ``p`` [..., 3]: negative inside, roughly a signed distance in metres.

    ``eye_open`` = (left, right) lid openness in [0, 1] (0 = closed); used to build the blink shapes.
    """
    f = _skull(p) - (_nose(p) + _mouth(p)) * smoothstep(p[..., 2], 0.03, 0.06) - _face_relief(p) - _ear(p)
    for side, openness in ((1, eye_open[0]), (-1, eye_open[1])):
        c = A.eye_centre(side)
        lid = np.maximum(sdf_sphere(p, c, A.EYE_RADIUS + 0.0019), _eyelid_opening(p, side, openness))
        f = smin(f, lid, 0.0025)
        f = np.minimum(f, sdf_sphere(p, c, A.EYE_RADIUS))
    return f


#: Semi-axes of an origin-centred ellipsoid that contains the head for any identity (ray marching starts there).
_BOUND = (0.15, 0.22, 0.17)


def ray_cast(dirs: np.ndarray, field=head_field, origin: np.ndarray = A.RAY_ORIGIN, r_max: float = 0.26,
             step: float = 0.0025, iters: int = 14) -> np.ndarray:
    """Outermost root r [N] of ``field(origin + r * d)`` along unit directions ``dirs`` [N, 3]."""
    n = len(dirs)
    start = np.minimum(r_max, 1.0 / np.sqrt(((dirs / np.array(_BOUND)) ** 2).sum(1)))
    hit_lo = np.full(n, np.nan)
    found = np.zeros(n, dtype=bool)
    for k0 in range(0, int(r_max / step) + 1, 8):
        todo = np.nonzero(~found)[0]
        if len(todo) == 0:
            break
        chunk = start[todo, None] - step * (k0 + np.arange(8))[None, :]
        pts = origin[None, None] + chunk[:, :, None] * dirs[todo, None, :]
        inside = (field(pts) < 0.0) & (chunk > 0)
        anyin = inside.any(1)
        first = inside.argmax(1)
        idx = todo[anyin]
        hit_lo[idx] = chunk[anyin, first[anyin]]
        found[idx] = True
    if not found.all():
        raise RuntimeError("procedural head: a ray missed the surface")
    lo, hi = hit_lo, hit_lo + step  # field(lo) < 0 <= field(hi)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        inside = field(origin[None] + mid[:, None] * dirs) < 0.0
        lo = np.where(inside, mid, lo)
        hi = np.where(inside, hi, mid)
    return 0.5 * (lo + hi)


def mesh_directions(resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit ray directions [V, 3] and faces [F, 3] of the head: a geodesic sphere refined on the face and ears."""
    dirs, faces = geodesic_sphere(resolution)
    d = focus_warp(dirs, (0.0, 0.1, 1.0), sigma=0.7, strength=0.5)
    d = focus_warp(d, (1.0, 0.33, -0.12), sigma=0.3, strength=0.5)
    d = focus_warp(d, (-1.0, 0.33, -0.12), sigma=0.3, strength=0.5)
    d = focus_warp(d, (0.0, -1.0, 0.0), sigma=0.9, strength=-0.35)
    return d, faces


def build_surface(resolution: int, eye_open: tuple[float, float] = (1.0, 1.0)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean-head vertices [V, 3] (float64, metres), faces [F, 3] and ray directions [V, 3]."""
    d, faces = mesh_directions(resolution)
    r = ray_cast(d, lambda q: head_field(q, eye_open))
    return A.RAY_ORIGIN[None] + r[:, None] * d, faces, d
