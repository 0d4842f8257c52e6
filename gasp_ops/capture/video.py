"""Video files (mp4) through PyAV: read every frame as RGB uint8, write losslessly, atomically.

Reading decodes the whole stream (videos here are short: a NeRSemble sequence is ~300-1500 frames; pass ``frames``
to keep only some). Any decoding problem (missing file, truncated file, no video stream, undecodable packet) is a
one-line ``GaspInputError`` naming the file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from gasp_ops.errors import GaspInputError
from gasp_ops.io.video import write_mp4


def _open(path: Path):
    import av

    if not path.is_file():
        raise GaspInputError(str(path), "video file not found")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise GaspInputError(str(path), f"truncated or unreadable video ({str(exc).splitlines()[0]})") from None
    if not container.streams.video:
        container.close()
        raise GaspInputError(str(path), "no video stream")
    return container


def video_info(path: str | os.PathLike) -> tuple[int, int, int]:
    """(frame count, width, height) from the container header (the count is checked again when decoding)."""
    path = Path(path)
    container = _open(path)
    try:
        s = container.streams.video[0]
        return int(s.frames or 0), int(s.codec_context.width), int(s.codec_context.height)
    finally:
        container.close()


def read_video(path: str | os.PathLike, frames: Iterable[int] | None = None) -> np.ndarray:
    """Decode ``path`` to uint8 RGB frames [T, H, W, 3] (``frames``: keep only these indices, in that order).

    Raises ``GaspInputError`` when the file is missing or truncated (fewer decodable frames than its header
    announces, or than the largest requested index), or holds no frame.
    """
    import av

    path = Path(path)
    container = _open(path)
    wanted = None if frames is None else [int(f) for f in frames]
    keep = None if wanted is None else set(wanted)
    out: dict[int, np.ndarray] = {}
    n = 0
    try:
        announced = int(container.streams.video[0].frames or 0)
        for frame in container.decode(video=0):
            if keep is None or n in keep:
                out[n] = frame.to_ndarray(format="rgb24")
            n += 1
            if keep is not None and n > max(keep):
                break
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise GaspInputError(str(path), f"truncated or corrupt video at frame {n} "
                                        f"({str(exc).splitlines()[0]})") from None
    finally:
        container.close()
    if n == 0:
        raise GaspInputError(str(path), "video holds no decodable frame (truncated?)")
    if keep is None and announced and n < announced:
        raise GaspInputError(str(path), f"truncated video: header announces {announced} frames, decoded {n}")
    if wanted is None:
        return np.stack([out[i] for i in range(n)])
    missing = [i for i in wanted if i not in out]
    if missing:
        raise GaspInputError(str(path), f"video has {n} frames; frame {missing[0]} requested (truncated?)")
    return np.stack([out[i] for i in wanted])


def write_video(path: str | os.PathLike, frames: np.ndarray, fps: int = 24, lossless: bool = True) -> Path:
    """Write uint8 RGB frames [T, H, W, 3] as H.264 mp4, atomically.

    lossless: libx264rgb with crf 0 (RGB, bit-exact round trip); else libx264 yuv420p crf 12 (what real captures
    look like: chroma subsampled). See ``gasp_ops.io.video.write_mp4``.
    """
    return write_mp4(path, frames, fps=fps, crf=12, lossless=lossless)
