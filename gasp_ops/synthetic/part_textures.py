"""Textures of the non-skin parts: hair strands, facial hair, clothing fabric (each a tile of the atlas)."""

from __future__ import annotations

import numpy as np
import torch

from gasp_ops.synthetic.identity import SyntheticIdentity
from gasp_ops.synthetic.mesh_utils import smoothstep
from gasp_ops.synthetic.noise import spectral_noise

GREY_STRAND = np.array([0.78, 0.78, 0.76])


def _strands(rng: torch.Generator, height: int, width: int, smooth: float = 0.8) -> np.ndarray:
    """Strand field [height, width] (about unit std): per-column noise, each row shifted by a slowly wandering
    offset, so streaks run along v (down the texture) and meander a little."""
    col = torch.randn(width, generator=rng, dtype=torch.float64).numpy()
    k = np.fft.rfftfreq(width) * width
    col = np.fft.irfft(np.fft.rfft(col) * np.exp(-0.5 * (k / (width * 0.5 * smooth)) ** 2), n=width)
    col = (col - col.mean()) / (col.std() + 1e-12)
    wander = spectral_noise(rng, height, 1, slope=3.0, low=0.5)[:, 0, 0] * width * 0.02
    x = (np.arange(width)[None, :] + wander[:, None]) % width
    i0 = np.floor(x).astype(np.int64)
    f = x - i0
    return col[i0] * (1 - f) + col[(i0 + 1) % width] * f


def hair_texture(ident: SyntheticIdentity, height: int, width: int, rng: torch.Generator,
                 domain: str = "prior") -> np.ndarray:
    """Strand texture [height, width, 3]: streaks along v (strands run down the meridians / the curtain)."""
    base = np.asarray(ident.hair, dtype=np.float64)
    fine = 0.7 * _strands(rng, height, width, 0.9) + 0.5 * _strands(rng, height, width, 0.3)
    coarse = spectral_noise(rng, height, width, slope=2.5, low=1, aniso=4.0)[..., 0]
    greymask = _strands(rng, height, width, 2.0) + 0.6 * spectral_noise(rng, height, width, 3.5, low=1, aniso=3.0)[..., 0]
    shade = 1.0 + 0.14 * fine + 0.08 * coarse
    if domain == "real_proxy":
        shade += 0.08 * _strands(rng, height, width, 1.0)
    # a soft sheen band (baked anisotropic highlight) a little below the crown
    v = np.linspace(1.0, 0.0, height)[:, None]
    shade = shade * (1.0 + 0.1 * np.exp(-((v - 0.68) / 0.06) ** 2) * (1.0 + 0.5 * coarse))
    col = base[None, None] * shade[..., None] + 0.015 * fine[..., None]
    if ident.grey_fraction > 0:
        thr = np.quantile(greymask, 1.0 - min(ident.grey_fraction, 1.0))
        g = 0.75 * smoothstep(greymask, thr - 0.1, thr + 0.1)[..., None]
        col = col * (1 - g) + GREY_STRAND[None, None] * (0.9 + 0.1 * fine[..., None]) * g
    return np.clip(col, 0.0, 1.0).astype(np.float32)


def facial_hair_texture(ident: SyntheticIdentity, size: int, rng: torch.Generator) -> np.ndarray:
    """Curly-noise beard texture [size, size, 3] in the hair colour (plus grey strands with age)."""
    base = np.asarray(ident.hair, dtype=np.float64)
    n = spectral_noise(rng, size, size, slope=0.8, low=size / 20)[..., 0]
    m = spectral_noise(rng, size, size, slope=1.6, low=2)[..., 0]
    col = base[None, None] * (0.9 + 0.08 * n + 0.05 * m)[..., None] + 0.02
    if ident.grey_fraction > 0:
        gm = spectral_noise(rng, size, size, slope=1.5, low=size / 16)[..., 0]
        thr = np.quantile(gm, 1.0 - min(ident.grey_fraction, 1.0))
        g = 0.6 * smoothstep(gm, thr - 0.3, thr + 0.3)[..., None]
        col = col * (1 - g) + GREY_STRAND * g
    return np.clip(col, 0.0, 1.0).astype(np.float32)


def clothing_texture(ident: SyntheticIdentity, height: int, width: int, rng: torch.Generator) -> np.ndarray:
    """Fabric [height, width, 3]: base colour, weave noise, pattern (plain / stripes / heather), darker collar."""
    base = np.asarray(ident.clothing, dtype=np.float64)
    weave = spectral_noise(rng, height, width, slope=0.4, low=width / 6)[..., 0]
    folds = spectral_noise(rng, height, width, slope=2.5, low=1, aniso=0.3)[..., 0]
    col = base[None, None] * (1.0 + 0.04 * weave + 0.06 * folds)[..., None]
    v = np.linspace(1.0, 0.0, height)[:, None]
    if ident.clothing_pattern == "stripes":
        stripe = (np.sin(v * 2 * np.pi * 9.0) > 0.3).astype(np.float64)
        col = col * (1 - stripe[..., None]) + np.asarray(ident.clothing_accent) * stripe[..., None] * 0.95
    elif ident.clothing_pattern == "heather":
        h = spectral_noise(rng, height, width, slope=0.1, low=width / 4)[..., 0]
        col = col * (1.0 + 0.18 * h)[..., None]
    collar = smoothstep(v, 0.94, 0.97)[..., None] * np.ones((1, width, 1))
    col = col * (1 - 0.35 * collar)
    return np.clip(col, 0.0, 1.0).astype(np.float32)
