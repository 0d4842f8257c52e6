"""gsplat backend (CUDA only): a thin wrapper over ``gsplat.rasterization`` (gsplat 1.5.x).

Settings fixed to match ``gasp_ops.render.reference``: ``render_mode="RGB+ED"``, ``rasterize_mode="classic"``,
``packed=False``, ``eps2d=0.3``, ``tile_size=16``, ``radius_clip=0``, ``sh_degree=None`` (colours are RGB).
gsplat is imported lazily, so this module imports fine on machines without it.
"""

from __future__ import annotations

import torch

from gasp_ops.cameras import Cameras
from gasp_ops.errors import GaspUnavailableError
from gasp_ops.render.gaussians import Gaussians3D


def _import_rasterization():
    try:
        from gsplat import rasterization
    except Exception as exc:  # noqa: BLE001 - ImportError or a failed CUDA extension build
        raise GaspUnavailableError(f"gsplat backend: cannot import gsplat ({type(exc).__name__}: {exc})") from exc
    return rasterization


def render_gsplat(
    gaussians: Gaussians3D,
    cameras: Cameras,
    background: torch.Tensor | None = None,
    *,
    near: float = 0.01,
    far: float = 1e10,
):
    """Render with gsplat. Gaussians [N, ...] (every camera) or [B, N, ...] with B == len(cameras) (frame b by
    camera b); all tensors on one CUDA device. gsplat computes in float32: other dtypes are cast and the
    result cast back. Returns (rgb [C, H, W, 3], alpha [C, H, W, 1], expected depth [C, H, W, 1])."""
    means = gaussians.means
    if means.device.type != "cuda":
        raise GaspUnavailableError(f"gsplat needs CUDA tensors; got tensors on {means.device}")
    rasterization = _import_rasterization()
    out_dtype = means.dtype
    f32 = lambda t: t.to(torch.float32).contiguous()  # noqa: E731
    m, q, s, o, c = (f32(t) for t in (means, gaussians.quats, gaussians.scales, gaussians.opacities, gaussians.colors))
    viewmats, Ks = f32(cameras.world_to_cam.to(means.device)), f32(cameras.K.to(means.device))
    C = viewmats.shape[0]
    if gaussians.batched:
        # batch dims: frame b with its own single camera -> [B, 1, H, W, 4]
        viewmats, Ks = viewmats[:, None], Ks[:, None]
        bgs = None if background is None else f32(background).expand(C, 1, 3).contiguous()
    else:
        bgs = None if background is None else f32(background).expand(C, 3).contiguous()
    renders, alphas, _meta = rasterization(
        m, q, s, o, c, viewmats, Ks, int(cameras.width), int(cameras.height),
        near_plane=float(near), far_plane=float(far), radius_clip=0.0, eps2d=0.3, sh_degree=None,
        packed=False, tile_size=16, backgrounds=bgs, render_mode="RGB+ED", rasterize_mode="classic",
    )
    H, W = int(cameras.height), int(cameras.width)
    renders = renders.reshape(C, H, W, 4)
    alphas = alphas.reshape(C, H, W, 1)
    rgb, depth = renders[..., :3], renders[..., 3:4]
    return rgb.to(out_dtype), alphas.to(out_dtype), depth.to(out_dtype)


def use_prebuilt_extension(folder) -> None:
    """Make gsplat use a prebuilt CUDA extension: ``folder`` holds ``gsplat_cuda*.so`` (built once on the device with
    ``TORCH_CUDA_ARCH_LIST=9.0``), registered as ``gsplat.csrc`` so gsplat skips its JIT build. No-op when empty."""
    if not folder:
        return
    import sys

    sys.path.insert(0, str(folder))
    import gsplat_cuda

    sys.modules["gsplat.csrc"] = gsplat_cuda
