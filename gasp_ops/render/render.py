"""The renderer's single entry point: ``render(gaussians, cameras, ...)`` with a gsplat (CUDA) and a pure-torch
reference backend that compute the same thing (gsplat 1.5.3 "classic" rasterisation is the anchor)."""

from __future__ import annotations

import importlib

import torch

from gasp_ops.cameras import Cameras
from gasp_ops.errors import GaspInputError, GaspUnavailableError
from gasp_ops.render.gaussians import Gaussians3D, RenderOutput
from gasp_ops.validation import check_tensor

BACKENDS = ("auto", "gsplat", "reference")


def render(
    gaussians: Gaussians3D,
    cameras: Cameras,
    background: torch.Tensor | None = None,
    *,
    backend: str = "auto",
    near: float = 0.01,
    far: float = 1e10,
) -> RenderOutput:
    """Render Gaussians into images (differentiable).

    gaussians: activated ``Gaussians3D``, unbatched ([N, ...]) or batched over B frames ([B, N, ...]).
    cameras: ``Cameras`` with C entries; the image size is ``cameras.width`` x ``cameras.height`` (all cameras
        share it). Unbatched Gaussians are seen by every camera (C images); batched Gaussians need C == B, and
        image b shows frame b through camera b.
    background: None (black) or a [3] RGB tensor, blended as ``rgb + (1 - alpha) * background``.
    backend: "auto" (gsplat when the tensors are on CUDA and gsplat imports, else the reference), "gsplat" (CUDA
        only) or "reference" (pure torch, any device; see ``gasp_ops.render.reference``).
    near, far: camera-space z clipping planes; Gaussians whose centre lies outside [near, far] are dropped.

    Returns ``RenderOutput`` with rgb [C, H, W, 3], alpha [C, H, W, 1] and depth [C, H, W, 1] (expected
    camera-space z, 0 where alpha is 0), in the Gaussians' dtype and on their device.
    """
    g = _validate(gaussians, cameras, background, backend, near, far)
    device = g.means.device
    cams = cameras if cameras.world_to_cam.device == device else cameras.to(device)
    if background is not None:
        background = background.to(device=device, dtype=g.means.dtype)

    chosen = backend
    if backend == "auto":
        chosen = "gsplat" if device.type == "cuda" and gsplat_available() else "reference"
    if chosen == "gsplat":
        if device.type != "cuda":
            raise GaspUnavailableError(
                f"backend='gsplat' needs CUDA tensors (gsplat is CUDA-only); the Gaussians are on {device}. "
                "Use backend='reference' (or 'auto') on CPU."
            )
        from gasp_ops.render.gsplat_backend import render_gsplat

        rgb, alpha, depth = render_gsplat(g, cams, background, near=near, far=far)
    else:
        from gasp_ops.render.reference import render_reference

        if g.batched:
            fields = (g.means, g.quats, g.scales, g.opacities, g.colors)
        else:
            fields = (g.means[None], g.quats[None], g.scales[None], g.opacities[None], g.colors[None])
        rgb, alpha, depth = render_reference(
            *fields, cams.world_to_cam, cams.K, int(cams.width), int(cams.height), background, near, far
        )
    return RenderOutput(rgb=rgb, alpha=alpha, depth=depth)


_GSPLAT_OK: bool | None = None


def gsplat_available() -> bool:
    """True when ``import gsplat`` works and CUDA is available (result cached)."""
    global _GSPLAT_OK
    if _GSPLAT_OK is None:
        try:
            importlib.import_module("gsplat")
            _GSPLAT_OK = torch.cuda.is_available()
        except Exception:  # ImportError, or a broken CUDA build
            _GSPLAT_OK = False
    return _GSPLAT_OK


def _validate(gaussians, cameras, background, backend, near, far) -> Gaussians3D:
    if backend not in BACKENDS:
        raise GaspInputError("backend", f"must be one of {', '.join(BACKENDS)}; got {backend!r}")
    if not isinstance(gaussians, Gaussians3D):
        raise GaspInputError("gaussians", f"expected a Gaussians3D, got {type(gaussians).__name__}")
    if not isinstance(cameras, Cameras):
        raise GaspInputError("cameras", f"expected a Cameras, got {type(cameras).__name__}")
    means = gaussians.means
    if not isinstance(means, torch.Tensor) or means.ndim not in (2, 3):
        shape = list(means.shape) if isinstance(means, torch.Tensor) else type(means).__name__
        raise GaspInputError("gaussians.means", f"expected shape [N, 3] or [B, N, 3], got {shape}")
    for name in ("quats", "scales", "opacities", "colors"):
        t = getattr(gaussians, name)
        if isinstance(t, torch.Tensor) and t.ndim != means.ndim - (1 if name == "opacities" else 0):
            want = "[N]" if name == "opacities" else "[N, k]"
            raise GaspInputError(
                f"gaussians.{name}", f"must be batched like gaussians.means ({want} per frame), got {list(t.shape)}"
            )
    gaussians.validate()  # shapes, agreeing batch dims, NaN/Inf
    if not means.is_floating_point():
        raise GaspInputError("gaussians.means", f"must be a floating-point tensor, got {means.dtype}")
    device, dtype = means.device, means.dtype
    for name in ("quats", "scales", "opacities", "colors"):
        t = getattr(gaussians, name)
        if t.device != device or t.dtype != dtype:
            raise GaspInputError(
                f"gaussians.{name}", f"is {t.dtype} on {t.device}; gaussians.means is {dtype} on {device}"
            )
    if gaussians.count == 0:
        raise GaspInputError("gaussians", "has no Gaussians (N = 0)")
    if bool((gaussians.scales <= 0).any()):
        raise GaspInputError("gaussians.scales", "must be > 0 (activated standard deviations)")
    if bool(((gaussians.opacities < 0) | (gaussians.opacities > 1)).any()):
        raise GaspInputError("gaussians.opacities", "must lie in [0, 1] (activated, not logits)")
    if bool((gaussians.quats.norm(dim=-1) < 1e-12).any()):
        raise GaspInputError("gaussians.quats", "contains zero-length quaternions")
    check_tensor("cameras.world_to_cam", cameras.world_to_cam, ["C", 4, 4])
    check_tensor("cameras.K", cameras.K, [len(cameras), 3, 3])
    if gaussians.batched and means.shape[0] != len(cameras):
        raise GaspInputError(
            "cameras",
            f"batched Gaussians have B={means.shape[0]} frames but cameras has {len(cameras)} entries "
            "(frame b is rendered by camera b; pass B cameras, or render frames one at a time)",
        )
    if not (float(near) > 0 and float(far) > float(near)):
        raise GaspInputError("near/far", f"need 0 < near < far, got near={near}, far={far}")
    if background is not None:
        check_tensor("background", background, [3])
    return gaussians
