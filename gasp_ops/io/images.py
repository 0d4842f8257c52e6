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


def save_png(path: str | os.PathLike, image) -> Path:
    """Write an image ([H, W, C] float in [0, 1] or uint8) as PNG, atomically."""
    with atomic_path(path, suffix=".png") as tmp:
        Image.fromarray(to_uint8(image)).save(tmp, format="PNG")
    return Path(path)
