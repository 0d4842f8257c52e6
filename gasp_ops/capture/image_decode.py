"""Photos as people take them -> uint8 RGB [H, W, 3] (+ an optional matte), decided on purpose:

- EXIF orientation is applied (``PIL.ImageOps.exif_transpose``): a phone photo shot in portrait is upright.
- Grayscale (``L``, ``I;16``, ``I``, ``F``, ``1``) is replicated to three channels.
- 16-bit samples are scaled to 8 bits as round(v / 257) (65535 -> 255), never clipped. (Pillow itself already
  reduces 16-bit *colour* PNGs to their high byte, v >> 8, which is within one level of that.)
- Palette and CMYK / YCbCr images are converted to RGB.
- Alpha (``RGBA``, ``LA``, ``PA``, a palette with transparency): when it is *non-trivial* - between 1 % and 99 % of
  the pixels are transparent (alpha < 0.5) - it is the person's matte (a cut-out exported by a phone's "lift
  subject" or an editor) and is returned as ``alpha``; otherwise (fully or almost fully opaque) it is dropped.
  The RGB under transparent pixels is kept as stored (the fit multiplies images by the matte).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gasp_ops.errors import GaspInputError

#: Alpha is used as the matte when the transparent fraction lies in this range.
ALPHA_TRANSPARENT_RANGE = (0.01, 0.99)

_EXIF_ORIENTATION = 0x0112


@dataclass
class DecodedImage:
    """rgb [H, W, 3] uint8 upright; alpha [H, W] float32 in [0, 1] or None; notes: what was done (provenance)."""

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    notes: dict = field(default_factory=dict)


def to_uint8(a: np.ndarray, mode: str) -> np.ndarray:
    """Samples of a decoded PIL mode -> uint8 (16-bit: round(v / 257); float: [0, 1] -> [0, 255])."""
    if a.dtype == np.uint8:
        return a
    if a.dtype == bool:
        return a.astype(np.uint8) * 255
    if mode.startswith("I;16") or a.dtype == np.uint16:
        return np.round(a.astype(np.float64) / 257.0).astype(np.uint8)
    if mode == "I":  # 32-bit integer container: 16-bit PNGs on some Pillow versions
        return np.round(np.clip(a.astype(np.float64), 0, 65535) / 257.0).astype(np.uint8)
    if mode == "F":
        return np.round(np.clip(a.astype(np.float64), 0.0, 1.0) * 255.0).astype(np.uint8)
    raise GaspInputError("image", f"unsupported sample type {a.dtype} (mode {mode})")


def decode_image(path: str | os.PathLike) -> DecodedImage:
    """Read an image file (see module docstring). Raises ``GaspInputError`` naming ``path`` if it is unreadable."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as im:
            orientation = int(im.getexif().get(_EXIF_ORIENTATION, 1) or 1)
            im = ImageOps.exif_transpose(im)
            mode = im.mode
            notes = {"mode": mode, "exif_orientation": orientation, "size": [im.width, im.height]}
            if mode == "P":
                im = im.convert("RGBA" if "transparency" in im.info else "RGB")
            elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
                im = im.convert("RGB")
            elif mode == "PA":
                im = im.convert("RGBA")
            elif mode == "1":
                im = im.convert("L")
            a = np.asarray(im)
            mode = im.mode
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise GaspInputError(str(path), f"not a readable image ({exc.__class__.__name__})") from None
    except Image.DecompressionBombError as exc:
        raise GaspInputError(str(path), f"image too large to decode safely ({exc})") from None
    alpha = None
    if mode in ("RGBA", "LA"):
        alpha = to_uint8(a[..., -1], "L").astype(np.float32) / 255.0
        a = a[..., :-1]
    a = to_uint8(a, mode)
    if a.ndim == 2:
        a = a[..., None]
    if a.shape[-1] == 1:
        a = np.repeat(a, 3, -1)
        notes["grayscale"] = "replicated to RGB"
    if a.ndim != 3 or a.shape[-1] != 3:
        raise GaspInputError(str(path), f"unsupported image layout {list(a.shape)} (mode {notes['mode']})")
    if notes["mode"] in ("I;16", "I;16B", "I;16L", "I", "F"):
        notes["depth"] = "scaled to 8 bits (round(v / 257))" if notes["mode"] != "F" else "float [0, 1] -> 8 bits"
    if alpha is not None:
        transparent = float((alpha < 0.5).mean())
        lo, hi = ALPHA_TRANSPARENT_RANGE
        if lo <= transparent <= hi:
            notes["alpha"] = f"used as the matte ({transparent:.1%} transparent)"
        else:
            notes["alpha"] = f"dropped ({transparent:.1%} transparent: not a cut-out)"
            alpha = None
    return DecodedImage(np.ascontiguousarray(a), alpha, notes)
