"""Projecting world points into calibrated cameras (differentiable) and sampling images there."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gasp_ops.cameras import Cameras


def project(points: torch.Tensor, cameras: Cameras) -> tuple[torch.Tensor, torch.Tensor]:
    """World points [T, N, 3] seen by C cameras -> (pixels [T, C, N, 2], camera depth [T, C, N])."""
    w2c = cameras.world_to_cam.to(points)
    K = cameras.K.to(points)
    pc = torch.einsum("cij,tnj->tcni", w2c[:, :3, :3], points) + w2c[None, :, None, :3, 3]
    z = pc[..., 2]
    uv = torch.einsum("cij,tcnj->tcni", K, pc)
    return uv[..., :2] / uv[..., 2:3].clamp_min(1e-6), z


def sample_images(images: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
    """Bilinear samples [T, C, N, K] of images [T, C, K, H, W] at pixel coordinates [T, C, N, 2] (centres at
    +0.5; outside -> border values). Differentiable in ``pixels``."""
    T, C, K, H, W = images.shape
    g = torch.stack([pixels[..., 0] / W * 2 - 1, pixels[..., 1] / H * 2 - 1], -1)  # align_corners=False
    out = F.grid_sample(images.reshape(T * C, K, H, W), g.reshape(T * C, 1, -1, 2), mode="bilinear",
                        padding_mode="border", align_corners=False)
    return out.reshape(T, C, K, -1).permute(0, 1, 3, 2)


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of [..., K, H, W] (sigma in pixels; 0 = unchanged)."""
    if sigma <= 0:
        return images
    r = max(1, int(3 * sigma + 0.5))
    x = torch.arange(-r, r + 1, dtype=images.dtype)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    k = k / k.sum()
    shp = images.shape
    y = images.reshape(-1, 1, shp[-2], shp[-1])
    y = F.conv2d(F.pad(y, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
    y = F.conv2d(F.pad(y, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1))
    return y.reshape(shp)
