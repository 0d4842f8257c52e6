"""Procedural skin texture in the head's UV space: tone, noise, blemishes, freckles, lips, brows, eyes,
wrinkles, stubble and the scalp under the hair.

Every feature is a function of the texel's 3-D rest-pose position (``uv_position_map``) relative to the landmarks
(``anatomy``), so the texture is seamless across UV charts and works for any head model with landmarks.
Domain ``prior``: smooth albedo (red-noise spectrum, little detail). ``real_proxy``: other statistics - pores
(white-ish high-frequency noise), stronger blotches, more freckles, mottled redness.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial import cKDTree

from gasp_ops.headmodel.topology import REGIONS
from gasp_ops.synthetic.anatomy import HeadAnatomy
from gasp_ops.synthetic.facial_hair import facial_hair_weight
from gasp_ops.synthetic.hair_geometry import hair_coverage
from gasp_ops.synthetic.identity import SyntheticIdentity
from gasp_ops.synthetic.mesh_utils import distance_to_polyline, point_in_polygon, smoothstep
from gasp_ops.synthetic.noise import solid_noise, spectral_noise
from gasp_ops.synthetic.uv_position_map import UVPositionMap


def _mix(base: np.ndarray, colour, w: np.ndarray) -> np.ndarray:
    w = np.clip(w, 0.0, 1.0)[:, None]
    c = np.asarray(colour, dtype=np.float64)
    return base * (1.0 - w) + (c[None] if c.ndim == 1 else c) * w


def _dots(rng: torch.Generator, centres_from: np.ndarray, weights: np.ndarray, n: int, points: np.ndarray,
          radius: tuple[float, float]) -> np.ndarray:
    """Soft dots [N]: ``n`` dot centres drawn from ``centres_from`` [M, 3] with probability ~ ``weights``."""
    if n <= 0 or weights.sum() <= 0:
        return np.zeros(len(points))
    p = torch.as_tensor(weights / weights.sum(), dtype=torch.float64)
    idx = torch.multinomial(p, n, replacement=True, generator=rng).numpy()
    rad = radius[0] + (radius[1] - radius[0]) * torch.rand(n, generator=rng, dtype=torch.float64).numpy()
    strength = 0.5 + 0.5 * torch.rand(n, generator=rng, dtype=torch.float64).numpy()
    tree = cKDTree(centres_from[idx])
    d, j = tree.query(points, k=1, distance_upper_bound=radius[1] * 2)
    ok = np.isfinite(d)
    out = np.zeros(len(points))
    jj = np.minimum(j, n - 1)
    out[ok] = (strength[jj] * np.exp(-(d / rad[jj]) ** 2))[ok]
    return out


def paint_skin(a: HeadAnatomy, pm: UVPositionMap, ident: SyntheticIdentity, domain: str,
               rng: torch.Generator) -> np.ndarray:
    """Skin texture [S, S, 3] float32 in [0, 1] (row 0 = top, v = 1)."""
    S = pm.face.shape[0]
    P = pm.position.reshape(-1, 3)
    Nz = pm.normal.reshape(-1, 3)[:, 2]
    region = pm.region.reshape(-1)
    lm = a.landmarks
    s = a.scale / 0.234
    real = domain == "real_proxy"
    x, y, z = P[:, 0], P[:, 1], P[:, 2]
    xr = x - a.axis_x
    face_like = np.isin(region, [REGIONS.index("face"), REGIONS.index("mouth")])

    col = np.repeat(np.asarray(ident.skin, dtype=np.float64)[None], len(P), 0)
    # Low-frequency tone variation (seamless, 3-D) and regional tints.
    tone = solid_noise(rng, P, 0.09 * s, octaves=3)
    col *= (1.0 + (0.045 if not real else 0.07) * ident.albedo_variation * tone)[:, None]
    red = np.zeros(len(P))
    for side in (1, -1):
        cheek = np.array([a.axis_x + side * 0.5 * abs(lm[2, 0] - lm[14, 0]) * 0.72, 0.5 * (a.y_nose + a.y_eye),
                          0.5 * (lm[31, 2] + lm[2, 2])])
        red += np.exp(-((P - cheek) ** 2).sum(1) / (0.022 * s) ** 2)
    red += 0.6 * np.exp(-((P - lm[30]) ** 2).sum(1) / (0.012 * s) ** 2)
    red += 0.35 * (region == REGIONS.index("ears"))
    col = _mix(col, (col[:, 0].mean() * 1.0, col[:, 1].mean() * 0.72, col[:, 2].mean() * 0.72),
               red * (0.22 if not real else 0.32))
    # Under-eye darkening and a slightly darker neck.
    for e in (lm[36:42].mean(0), lm[42:48].mean(0)):
        under = np.exp(-(((P - (e + np.array([0.0, -0.009 * s, 0.0]))) / np.array([0.014, 0.006, 0.02]) / s) ** 2)
                       .sum(1))
        col *= (1.0 - 0.07 * under * (0.5 + ident.wrinkles))[:, None]
    col *= (1.0 - 0.05 * (region == REGIONS.index("neck")))[:, None]

    # Texture-space noise: prior = smooth red noise; real_proxy = pores + mottling.
    if real:
        pores = spectral_noise(rng, S, S, slope=0.3, low=S / 8).reshape(-1)
        mottle = spectral_noise(rng, S, S, slope=2.2, low=4).reshape(-1)
        col *= (1.0 + 0.035 * pores + 0.03 * mottle)[:, None]
        col = _mix(col, (0.75, 0.35, 0.33), np.clip(0.12 * mottle, 0.0, 0.1))
    else:
        n = spectral_noise(rng, S, S, slope=2.6, low=2).reshape(-1)
        col *= (1.0 + 0.018 * n)[:, None]

    # Blemishes (red spots) and freckles (brown dots) on the face.
    fw = face_like * np.clip(Nz, 0.0, 1.0)
    n_blem = int((12 if not real else 30) * ident.blemishes)
    blem = _dots(rng, P, fw, n_blem, P, (0.0012 * s, 0.0028 * s))
    col = _mix(col, col * np.array([0.9, 0.55, 0.55]), 0.45 * blem)
    up = fw * smoothstep(y - a.y_mouth, 0.0, 0.02 * s) * np.exp(-(xr / (0.06 * s)) ** 2)
    n_freck = int((250 if not real else 450) * ident.freckles)
    freck = _dots(rng, P, up, n_freck, P, (0.0007 * s, 0.0014 * s))
    col = _mix(col, np.asarray(ident.skin) * np.array([0.72, 0.5, 0.36]), 0.7 * freck)

    front = (z > lm[27, 2] - 0.045 * s) & (Nz > 0.1)
    # Wrinkles (age): forehead lines, crow's feet, nasolabial folds, under-eye lines.
    w = ident.wrinkles
    line_noise = solid_noise(rng, P, 0.03 * s, octaves=2)
    if w > 0:
        forehead_top = a.y_brow + 0.4 * (a.y_crown - a.y_brow)
        band = smoothstep(y - (a.y_brow + 0.012 * s), 0.0, 0.005) * smoothstep(forehead_top - y, 0.0, 0.008)
        band *= np.exp(-(xr / (0.045 * s)) ** 4) * front
        phase = (y - a.y_brow) / (0.0075 * s) + 0.25 * line_noise + 3.0 * (xr / (0.1 * s)) ** 2
        lines = np.exp(-((phase - np.round(phase)) / 0.09) ** 2)
        darken = 0.16 * w * band * lines
        for corner, side in ((lm[36], -1.0), (lm[45], 1.0)):
            d = P - corner
            r = np.hypot(d[:, 0], d[:, 1])
            lateral = (d[:, 0] * side > 0.001) & front
            angle = np.arctan2(d[:, 1], np.abs(d[:, 0]))
            rays = np.exp(-((np.sin(angle * 7.0 + 0.8 * line_noise)) / 0.22) ** 2)
            zone = smoothstep(r, 0.003 * s, 0.007 * s) * smoothstep(0.024 * s - r, 0.0, 0.008 * s)
            darken = darken + 0.15 * w * rays * zone * lateral * (np.abs(angle) < 0.9)
        for ala, corner, side in ((lm[31], lm[48], -1.0), (lm[35], lm[54], 1.0)):
            o = np.array([side * 0.006 * s, 0.004 * s, 0.0])
            c2 = corner + np.array([side * 0.007 * s, -0.004 * s, 0.0])
            c3 = corner + np.array([side * 0.009 * s, -0.016 * s, 0.0])
            d = distance_to_polyline(P[:, :2], np.stack([(ala + o)[:2], c2[:2], c3[:2]]))
            darken = darken + (0.05 + 0.2 * w) * np.exp(-(d / (0.0016 * s)) ** 2) * front
        col *= (1.0 - np.clip(darken, 0.0, 0.45))[:, None]
    else:
        for ala, corner, side in ((lm[31], lm[48], -1.0), (lm[35], lm[54], 1.0)):
            o = np.array([side * 0.006 * s, 0.004 * s, 0.0])
            c2 = corner + np.array([side * 0.007 * s, -0.004 * s, 0.0])
            d = distance_to_polyline(P[:, :2], np.stack([(ala + o)[:2], c2[:2]]))
            col *= (1.0 - 0.05 * np.exp(-(d / (0.0018 * s)) ** 2) * front)[:, None]

    # Stubble / beard shadow (under beard and moustache shells too, so gaps look right).
    if ident.facial_hair != "none":
        fh = facial_hair_weight(a, P, ident.facial_hair) * front
        speck = spectral_noise(rng, S, S, slope=0.2, low=S / 6).reshape(-1)
        dots = smoothstep(speck, -0.2, 1.0)
        strength = 0.55 if ident.facial_hair == "stubble" else 0.75
        dark = np.asarray(ident.hair) * 0.45 + 0.03
        col = _mix(col, dark, fh * strength * (0.45 + 0.55 * dots))

    # Lips.
    outer = lm[48:60, :2]
    lip_d = distance_to_polyline(P[:, :2], np.concatenate([outer, outer[:1]]))
    inside = point_in_polygon(P[:, :2], outer)
    lips = np.where(inside, 1.0, smoothstep(0.0012 * s - lip_d, 0.0, 0.0012 * s))
    lips = np.maximum(lips * (z > lm[48:60, 2].min() - 0.02 * s) * (Nz > -0.2), region == REGIONS.index("mouth"))
    col = _mix(col, ident.lip, 0.7 * lips)
    inner = lm[60:68, :2]
    mouth_in = point_in_polygon(P[:, :2], inner) & (z > lm[60:68, 2].min() - 0.03 * s)
    col = _mix(col, np.asarray(ident.lip) * 0.45, 0.8 * mouth_in)

    # Brows: tapered bands along landmarks 17-21 / 22-26 (lifted by the arch), with strokes.
    strokes = spectral_noise(rng, S, S, slope=1.0, low=S / 16, aniso=0.35).reshape(-1)
    brow_w = np.zeros(len(P))
    for ids in (list(range(17, 22)), list(range(22, 27))):
        pts = lm[ids].copy()
        profile = np.array([0.0, 0.6, 1.0, 0.8, 0.3]) if ids[0] == 17 else np.array([0.3, 0.8, 1.0, 0.6, 0.0])
        pts[:, 1] += ident.brow_arch * s * profile
        d = distance_to_polyline(P[:, :2], pts[:, :2])
        # thickness tapers from the inner (nose side) end to the outer end
        inner_x = lm[21, 0] if ids[0] == 17 else lm[22, 0]
        outer_x = lm[17, 0] if ids[0] == 17 else lm[26, 0]
        tpos = np.clip((x - inner_x) / (outer_x - inner_x), 0.0, 1.0)
        half = 0.5 * ident.brow_thickness * s * (1.1 - 0.55 * tpos)
        band = smoothstep(half - d, -0.0006 * s, 0.0008 * s)
        span = ((x - min(inner_x, outer_x)) > -0.003 * s) & ((max(inner_x, outer_x) - x) > -0.003 * s)
        brow_w = np.maximum(brow_w, band * span * front)
    density = smoothstep(strokes, -0.9 * ident.brow_density, 0.6)
    col = _mix(col, ident.brow, brow_w * (0.45 + 0.5 * density))

    # Eyes: sclera inside the lid contour, iris and pupil at its centre.
    for ids in (range(36, 42), range(42, 48)):
        poly = lm[list(ids)]
        c = poly.mean(0)
        poly2 = c[:2] + 1.15 * (poly[:, :2] - c[:2])
        ins = point_in_polygon(P[:, :2], poly2) & (z > c[2] - 0.02 * s)
        ins |= (region == REGIONS.index("eyes")) & (np.sign(xr) == np.sign(c[0] - a.axis_x))
        r = np.linalg.norm(P[:, :2] - c[:2], axis=1)
        ang = np.arctan2(P[:, 1] - c[1], P[:, 0] - c[0])
        sclera = np.array([0.93, 0.9, 0.86]) if not real else np.array([0.9, 0.84, 0.8])
        eye_col = np.repeat(sclera[None], len(P), 0)
        r_iris = 0.0062 * s
        streak = 0.85 + 0.15 * np.cos(ang * 23.0 + 3.0 * np.sin(ang * 5.0)) * np.cos(ang * 11.0)
        iris = np.asarray(ident.iris)[None] * streak[:, None] * (0.75 + 0.35 * (r / r_iris))[:, None]
        eye_col = np.where((r < r_iris)[:, None], iris, eye_col)
        eye_col = np.where(((r > 0.85 * r_iris) & (r < r_iris))[:, None], eye_col * 0.55, eye_col)
        eye_col = np.where((r < 0.38 * r_iris)[:, None], np.array([0.02, 0.02, 0.025])[None], eye_col)
        hl = np.linalg.norm(P[:, :2] - (c[:2] + np.array([0.0015, 0.0018]) * s), axis=1) < 0.0009 * s
        eye_col = np.where(hl[:, None], np.array([0.95, 0.95, 0.95])[None], eye_col)
        col = np.where(ins[:, None], eye_col, col)
        # lash line: darken the lid contour
        lash = distance_to_polyline(P[:, :2], np.concatenate([poly2, poly2[:1]]))
        col *= (1.0 - 0.55 * np.exp(-(lash / (0.0009 * s)) ** 2) * (z > c[2] - 0.02 * s) * ~ins)[:, None]

    # Scalp under the hair: hair colour, so that the hair shell's edge blends in.
    if ident.hairstyle != "bald":
        cov = hair_coverage(a, P, ident.hairstyle, ident.hairline_raise, ramp=0.004 * s)
        cov *= region != REGIONS.index("ears")
        col = _mix(col, np.asarray(ident.hair) * 0.8, 0.92 * cov)
    else:
        col *= (1.0 + 0.03 * smoothstep(y - a.y_brow, 0.05, 0.09))[:, None]

    return np.clip(col, 0.0, 1.0).reshape(S, S, 3).astype(np.float32)
