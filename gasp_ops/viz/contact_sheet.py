"""Contact sheets: a labelled grid of equally sized images."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from gasp_ops.errors import GaspInputError
from gasp_ops.io.images import to_uint8


def contact_sheet(
    images: Sequence[Sequence[object]],
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    pad: int = 2,
    background: int = 255,
) -> np.ndarray:
    """Grid of images [rows][cols], each [H, W, 3] (float in [0, 1] or uint8) -> uint8 [H', W', 3].

    Labels, when given, are drawn in a margin above the columns and left of the rows.
    """
    if not images or not images[0]:
        raise GaspInputError("images", "contact sheet needs at least one image")
    tiles = [[to_uint8(im) for im in row] for row in images]
    h, w = tiles[0][0].shape[:2]
    for r, row in enumerate(tiles):
        if len(row) != len(tiles[0]):
            raise GaspInputError("images", f"row {r} has {len(row)} images, expected {len(tiles[0])}")
        for im in row:
            if im.shape[:2] != (h, w):
                raise GaspInputError("images", f"image of shape {im.shape[:2]} in row {r}, expected {(h, w)}")
    top = 14 if col_labels else 0
    left = 8 + 6 * max((len(s) for s in row_labels), default=0) if row_labels else 0
    n_rows, n_cols = len(tiles), len(tiles[0])
    sheet = Image.new("RGB", (left + n_cols * (w + pad) + pad, top + n_rows * (h + pad) + pad), (background,) * 3)
    draw = ImageDraw.Draw(sheet)
    for r, row in enumerate(tiles):
        for c, im in enumerate(row):
            rgb = np.repeat(im[..., None], 3, -1) if im.ndim == 2 else im[..., :3]
            sheet.paste(Image.fromarray(rgb), (left + pad + c * (w + pad), top + pad + r * (h + pad)))
    if col_labels:
        for c, text in enumerate(col_labels):
            draw.text((left + pad + c * (w + pad) + 2, 1), str(text), fill=(0, 0, 0))
    if row_labels:
        for r, text in enumerate(row_labels):
            draw.text((2, top + pad + r * (h + pad) + h // 2 - 5), str(text), fill=(0, 0, 0))
    return np.asarray(sheet)
