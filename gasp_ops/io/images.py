"""Images on disk (PNG) written atomically."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gasp_ops.io.atomic import atomic_path


def to_uint8(image) -> np.ndarray:
    """[H, W, 3|4|1] float in [0, 1] (tensor or array) or uint8 -> uint8 array [H, W, C]."""
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().numpy()
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    return image


def save_png(path: str | os.PathLike, image, compress_level: int = 6) -> Path:
    """Write an image ([H, W, C] float in [0, 1] or uint8) as PNG, atomically. compress_level: zlib's 0-9 (the
    pixels are the same at every level; 1 encodes a 512² render ~2.4x faster than the default 6, ~20 % larger)."""
    with atomic_path(path, suffix=".png") as tmp:
        Image.fromarray(to_uint8(image)).save(tmp, format="PNG", compress_level=compress_level)
    return Path(path)


def save_png16(path: str | os.PathLike, values: np.ndarray, compress_level: int = 3) -> Path:
    """Write a 2D integer map (0..65535) as a 16-bit single-channel PNG, atomically (compress_level: zlib's 0-9)."""
    import cv2

    values = np.asarray(values)
    if values.ndim != 2 or values.min(initial=0) < 0 or values.max(initial=0) > 65535:
        raise ValueError(f"{path}: a 16-bit PNG holds a 2D map of values in [0, 65535]")
    with atomic_path(path, suffix=".png") as tmp:
        if not cv2.imwrite(str(tmp), values.astype(np.uint16), [cv2.IMWRITE_PNG_COMPRESSION, int(compress_level)]):
            raise OSError(f"{path}: could not encode PNG")
    return Path(path)


def load_png(path: str | os.PathLike) -> np.ndarray:
    """Read a PNG as stored: uint8 [H, W, C] / [H, W], or uint16 [H, W] for 16-bit maps."""
    import cv2

    from gasp_ops.errors import GaspInputError

    from gasp_ops.io.image_limits import check_image_pixels

    path = Path(path)
    check_image_pixels(path)  # header only: refuse image bombs before decoding
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise GaspInputError(str(path), "not a readable PNG")
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA if image.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    return image
