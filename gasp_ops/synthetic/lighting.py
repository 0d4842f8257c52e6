"""Lighting and camera effects per domain.

``prior``: uniform white light - the rendered colour is the flat albedo (paper §4: "uniform white lighting").
``real_proxy``: soft key + fill Lambert lighting from the interpolated mesh normals plus ambient, a colour cast,
slight blur and sensor noise (Gaussian read noise + signal-dependent shot noise). Parameters are drawn per render
call from a seeded generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as Fn

from gasp_ops.seeding import generator


@dataclass(frozen=True)
class RealProxyLook:
    """key_dir, fill_dir [3] (unit, world, towards the light); key, fill, ambient intensities; cast [3] RGB gains;
    blur_sigma (pixels); read_noise, shot_noise (std in [0, 1] units); gamma-like contrast."""

    key_dir: tuple
    fill_dir: tuple
    key: float
    fill: float
    ambient: float
    cast: tuple
    blur_sigma: float
    read_noise: float
    shot_noise: float


def sample_look(seed: int, *labels) -> RealProxyLook:
    g = generator(seed, "real_proxy_look", *labels)
    u = torch.rand(14, generator=g, dtype=torch.float64).tolist()
    az = math.radians(-70 + 140 * u[0])
    el = math.radians(10 + 40 * u[1])
    key_dir = (math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az))
    faz = az + math.pi * (0.6 + 0.3 * u[2]) * (1 if u[3] < 0.5 else -1)
    fill_dir = (math.sin(faz) * 0.9, 0.1, math.cos(faz) * 0.9)
    cast = (1.0 + 0.08 * (u[4] - 0.5) + 0.04 * (u[5] - 0.3), 1.0 + 0.04 * (u[6] - 0.5), 1.0 - 0.1 * (u[7] - 0.4))
    return RealProxyLook(key_dir=key_dir, fill_dir=fill_dir, key=0.75 + 0.25 * u[8], fill=0.2 + 0.2 * u[9],
                         ambient=0.28 + 0.12 * u[10], cast=cast, blur_sigma=0.45 + 0.35 * u[11],
                         read_noise=0.006 + 0.01 * u[12], shot_noise=0.01 + 0.015 * u[13])


def lambert_shading(normals: torch.Tensor, view_dirs: torch.Tensor, look: RealProxyLook) -> torch.Tensor:
    """Irradiance [..., 1] from unit normals [..., 3] (flipped to face the viewer; ``view_dirs`` [..., 3] point from
    the surface towards the camera)."""
    n = torch.where(((normals * view_dirs).sum(-1, keepdim=True) < 0), -normals, normals)
    key = torch.tensor(look.key_dir, dtype=n.dtype, device=n.device)
    fill = torch.tensor(look.fill_dir, dtype=n.dtype, device=n.device)
    k = (n * key).sum(-1, keepdim=True).clamp_min(0.0)
    f = (n * fill).sum(-1, keepdim=True).clamp_min(0.0)
    sky = 0.5 + 0.5 * n[..., 1:2]  # a little more light from above
    return look.ambient * (0.7 + 0.6 * sky) + look.key * k + look.fill * f


def camera_effects(rgb: torch.Tensor, look: RealProxyLook, g: torch.Generator) -> torch.Tensor:
    """Colour cast, blur and sensor noise on images [K, H, W, 3] in [0, 1]; returns clamped [K, H, W, 3]."""
    cast = torch.tensor(look.cast, dtype=rgb.dtype, device=rgb.device)
    x = (rgb * cast).permute(0, 3, 1, 2)
    s = look.blur_sigma
    r = max(1, int(math.ceil(2.5 * s)))
    t = torch.arange(-r, r + 1, dtype=rgb.dtype, device=rgb.device)
    k1 = torch.exp(-0.5 * (t / s) ** 2)
    k1 = k1 / k1.sum()
    C = x.shape[1]
    x = Fn.conv2d(Fn.pad(x, (r, r, 0, 0), mode="replicate"), k1.view(1, 1, 1, -1).expand(C, 1, 1, -1), groups=C)
    x = Fn.conv2d(Fn.pad(x, (0, 0, r, r), mode="replicate"), k1.view(1, 1, -1, 1).expand(C, 1, -1, 1), groups=C)
    x = x.permute(0, 2, 3, 1)
    noise = torch.randn(x.shape, generator=g, dtype=torch.float32).to(device=x.device, dtype=x.dtype)
    sigma = torch.sqrt(look.read_noise ** 2 + look.shot_noise ** 2 * x.clamp_min(0.0))
    return (x + sigma * noise).clamp(0.0, 1.0)
