"""Smooth scalar building blocks (numpy, float64) for the procedural head's fields.

Every function is vectorised over arrays of points ``p`` [..., 3] or scalars [...]; all are C^1 or smoother so
that the surfaces and displacement fields built from them stay smooth.
"""

from __future__ import annotations

import numpy as np


def smoothstep(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """C^1 ramp [...] from 0 at ``lo`` to 1 at ``hi`` (reversed if ``lo > hi``)."""
    t = np.clip((np.asarray(x, dtype=np.float64) - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def gauss(p: np.ndarray, centre, sigma) -> np.ndarray:
    """Anisotropic Gaussian bump [...] of points ``p`` [..., 3]; ``sigma`` is a scalar or per-axis [3]."""
    d = (p - np.asarray(centre, dtype=np.float64)) / np.asarray(sigma, dtype=np.float64)
    return np.exp(-0.5 * (d * d).sum(-1))


def gauss1(x: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    """1-D Gaussian profile [...] with peak 1."""
    return np.exp(-0.5 * ((x - mu) / sigma) ** 2)


def sdf_ellipsoid(p: np.ndarray, centre, radii) -> np.ndarray:
    """Approximate signed distance [...] to an axis-aligned ellipsoid (exact sign, ~distance near the surface)."""
    r = np.asarray(radii, dtype=np.float64)
    q = p - np.asarray(centre, dtype=np.float64)
    k0 = np.linalg.norm(q / r, axis=-1)
    k1 = np.linalg.norm(q / (r * r), axis=-1)
    return k0 * (k0 - 1.0) / np.maximum(k1, 1e-12)


def sdf_sphere(p: np.ndarray, centre, radius: float) -> np.ndarray:
    """Signed distance [...] to a sphere."""
    return np.linalg.norm(p - np.asarray(centre, dtype=np.float64), axis=-1) - radius


def smin(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Smooth minimum (smooth union of two signed fields) with blend radius ``k`` (polynomial, C^1)."""
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b * (1.0 - h) + a * h - k * h * (1.0 - h)


def smax(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Smooth maximum (smooth intersection) with blend radius ``k``."""
    return -smin(-a, -b, k)


def soft_abs(x: np.ndarray, eps: float) -> np.ndarray:
    """|x| rounded over a width ``eps`` (smooth at 0)."""
    return np.sqrt(x * x + eps * eps)
