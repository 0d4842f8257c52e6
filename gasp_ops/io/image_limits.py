"""Image bombs: read an image's size from its header and refuse it above a pixel limit before decoding it.

A PNG of 20000 x 20000 px compresses to a few hundred KB but decodes to 1.2 GB (and several copies of that while
it is converted). ``check_image_pixels`` opens the file with PIL, which reads only the header, and refuses an image
above ``MAX_PIXELS`` (40 MP, more than any phone's default photo mode; override with ``$GASP_MAX_IMAGE_PIXELS``)
with one line naming the file, its size and the limit. ``check_frame_pixels`` does the same for a video's frame size.
"""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path

from gasp_ops.errors import GaspInputError

MAX_PIXELS = 40_000_000
_LOCK = threading.Lock()


def max_pixels() -> int:
    """The pixel limit: ``$GASP_MAX_IMAGE_PIXELS`` when set (a positive integer), else ``MAX_PIXELS``."""
    raw = os.environ.get("GASP_MAX_IMAGE_PIXELS", "").strip()
    if not raw:
        return MAX_PIXELS
    if not raw.isdigit() or int(raw) <= 0:
        raise GaspInputError("GASP_MAX_IMAGE_PIXELS", f"must be a positive integer, got {raw!r}")
    return int(raw)


def check_frame_pixels(name: str, width: int, height: int, limit: int | None = None) -> None:
    """Refuse a ``width`` x ``height`` image/frame above the pixel limit (one line naming ``name``)."""
    limit = limit or max_pixels()
    if int(width) * int(height) > limit:
        raise GaspInputError(name, f"{width}x{height} px ({width * height / 1e6:.0f} MP) is above the limit of "
                             f"{limit / 1e6:.0f} MP; downscale it first (or raise $GASP_MAX_IMAGE_PIXELS)")


def check_image_pixels(path: str | os.PathLike, limit: int | None = None) -> tuple[int, int]:
    """(width, height) from the header of image ``path``; ``GaspInputError`` when unreadable or above the limit."""
    from PIL import Image

    path = Path(path)
    if not path.is_file():
        raise GaspInputError(str(path), "file not found")
    try:
        with _LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # PIL's own check: replaced by ours below
            try:
                with Image.open(path) as im:  # lazy: only the header is read
                    width, height = im.size
            finally:
                Image.MAX_IMAGE_PIXELS = saved
    except (OSError, SyntaxError, ValueError) as exc:
        raise GaspInputError(str(path), f"not a readable image ({str(exc).splitlines()[0] if str(exc) else exc})") \
            from None
    check_frame_pixels(str(path), width, height, limit)
    return width, height
