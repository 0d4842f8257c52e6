"""Dagster metadata helpers: images inline (Markdown data URI) plus the file path."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import dagster as dg
import numpy as np
from PIL import Image


def image_metadata(image: np.ndarray, path: Path, title: str, max_side: int = 1024) -> dict:
    """Metadata entries that show ``image`` (uint8 [H, W, 3]) in the Dagster UI and link its file."""
    pil = Image.fromarray(image)
    if max(pil.size) > max_side:
        pil.thumbnail((max_side, max_side))
    buf = io.BytesIO()
    pil.save(buf, format="PNG")
    b64 = base64.b64encode(buf.getvalue()).decode()
    return {
        title: dg.MetadataValue.md(f"![{title}](data:image/png;base64,{b64})"),
        f"{title}_path": dg.MetadataValue.path(str(path)),
    }
