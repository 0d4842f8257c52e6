"""Flat (unlit) UV-texture shading of rasterised fragments, box-filter downsampling and background compositing."""

from __future__ import annotations

import torch
import torch.nn.functional as Fn

from gasp_ops.errors import GaspInputError
from gasp_ops.raster.fragments import Fragments
from gasp_ops.raster.interpolate import interpolate
from gasp_ops.validation import check_tensor


def sample_texture(texture: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """Bilinear texture lookup.

    texture: [C or 1, Ht, Wt, D]; row 0 is the top of the image (v = 1), column 0 the left (u = 0).
    uv: [C, H, W, 2] (u right, v up). Texel (r, c) covers u in [c, c + 1) / Wt and v in (1 - (r + 1) / Ht,
        1 - r / Ht], i.e. pixel-centre convention (grid_sample with align_corners=False); lookups outside [0, 1]
        clamp to the border texels.
    Returns [C, H, W, D] in the texture's dtype.
    """
    C, H, W, _ = uv.shape
    grid = torch.stack([2.0 * uv[..., 0] - 1.0, 1.0 - 2.0 * uv[..., 1]], dim=-1).to(texture.dtype)
    tex = texture.permute(0, 3, 1, 2)
    if texture.shape[0] == 1 and C > 1:  # one texture for all images: one lookup, no per-image copies
        grid = grid.reshape(1, C * H, W, 2)
    out = Fn.grid_sample(tex, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out.permute(0, 2, 3, 1).reshape(C, H, W, -1)


def shade_textured(fragments: Fragments, uvs: torch.Tensor, uv_faces: torch.Tensor, texture: torch.Tensor,
                   *, background=0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Texture colour at every sample of ``fragments`` (no filtering across samples).

    uvs: [T, 2] or [C or 1, T, 2] UV coordinates (u right, v up); uv_faces: [F, 3] indices into ``uvs``, one row
        per mesh face (the fragments' face ids index it).
    texture: [C or 1, Ht, Wt, 3] floating point (bilinear lookup, see ``sample_texture``).
    background: float, 3 floats, or a tensor broadcastable to [C, H, W, 3]; 0 gives premultiplied colour.
    Returns rgb [C, H, W, 3] (texture colour where covered, background elsewhere) and alpha [C, H, W] (0/1).
    """
    C = len(fragments)
    check_tensor("texture", texture, [None, "Ht", "Wt", 3])
    if texture.shape[0] not in (1, C):
        raise GaspInputError("texture", f"batch size must be 1 or {C} (the number of images), got "
                                        f"{texture.shape[0]}")
    if not texture.is_floating_point():
        raise GaspInputError("texture", f"expected a floating-point tensor, got {texture.dtype}")
    if texture.shape[1] < 1 or texture.shape[2] < 1:
        raise GaspInputError("texture", f"must have at least one texel, got {list(texture.shape)}")
    if not isinstance(uvs, torch.Tensor):
        raise GaspInputError("uvs", f"expected a torch.Tensor, got {type(uvs).__name__}")
    if (uvs.ndim == 2 and uvs.shape[-1] != 2) or (uvs.ndim == 3 and uvs.shape[-1] != 2) or uvs.ndim not in (2, 3):
        raise GaspInputError("uvs", f"expected [T, 2] or [C, T, 2], got {list(uvs.shape)}")
    if not isinstance(uv_faces, torch.Tensor):
        raise GaspInputError("uv_faces", f"expected a torch.Tensor, got {type(uv_faces).__name__}")
    uv = _named(interpolate, "uvs", "uv_faces")(fragments, uv_faces, uvs.to(fragments.barycentrics.device))
    alpha = fragments.covered.to(texture.dtype)
    colour = sample_texture(texture.to(uv.device), uv)
    bg = _background(background, colour, "background")
    rgb = torch.where(fragments.covered[..., None], colour, bg)
    return rgb, alpha


def box_downsample(x: torch.Tensor, s: int) -> torch.Tensor:
    """Mean over non-overlapping s x s blocks: [C, H*s, W*s, D] -> [C, H, W, D] (a box filter)."""
    if s == 1:
        return x
    return Fn.avg_pool2d(x.permute(0, 3, 1, 2), kernel_size=s, stride=s).permute(0, 2, 3, 1).contiguous()


def composite_background(premultiplied: torch.Tensor, alpha: torch.Tensor, background, name: str) -> torch.Tensor:
    """premultiplied [C, H, W, D] + (1 - alpha [C, H, W, 1]) * background."""
    bg = _background(background, premultiplied, name)
    return premultiplied + (1.0 - alpha) * bg


def _background(background, like: torch.Tensor, name: str) -> torch.Tensor:
    if isinstance(background, torch.Tensor):
        bg = background.to(device=like.device, dtype=like.dtype)
    else:
        try:
            bg = torch.as_tensor(background, dtype=like.dtype, device=like.device)
        except (TypeError, ValueError):
            raise GaspInputError(name, f"expected a number, {like.shape[-1]} numbers or a tensor, "
                                       f"got {background!r}") from None
    if not bool(torch.isfinite(bg).all()):
        raise GaspInputError(name, "contains NaN/Inf values")
    shape, target = list(bg.shape), list(like.shape)
    fits = len(shape) <= len(target) and all(a in (1, b) for a, b in zip(reversed(shape), reversed(target)))
    if not fits:
        raise GaspInputError(name, f"shape {shape} does not broadcast to {target}")
    return bg


def _named(fn, attr_name: str, faces_name: str):
    """Call ``interpolate`` but report its input errors under the caller's argument names."""

    def call(*args):
        try:
            return fn(*args)
        except GaspInputError as err:
            name = {"attr": attr_name, "faces": faces_name}.get(err.name, err.name)
            raise GaspInputError(name, err.problem) from None

    return call
