"""mp4 files (H.264 via PyAV), written atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gasp_ops.errors import GaspInputError
from gasp_ops.io.atomic import atomic_path

#: x264's output depends on its thread count, which defaults to the machine's cores: a fixed count makes the same
#: frames give the same file (and the same decoded pixels) on every machine. 2 = the default on the 2-core machines
#: the capture tests' thresholds were measured on (8 threads changes pixels by up to 13/255 there).
X264_THREADS = "2"


def write_mp4(path, frames: np.ndarray, fps: int = 30, crf: int = 18, lossless: bool = False) -> Path:
    """uint8 RGB frames [T, H, W, 3] -> H.264 mp4, atomically.

    lossless=False: libx264, yuv420p, ``crf`` (what viewers and real captures use; odd sizes are padded by one
    row/column of edge colour because yuv420p needs even sizes). lossless=True: libx264rgb, crf 0, RGB (a bit-exact
    round trip; any size).
    """
    import av

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise GaspInputError(str(path), f"need uint8 frames [T, H, W, 3], got {frames.dtype} {list(frames.shape)}")
    H, W = frames.shape[1:3]
    if not lossless and (H % 2 or W % 2):
        frames = np.pad(frames, ((0, 0), (0, H % 2), (0, W % 2), (0, 0)), mode="edge")
        H, W = frames.shape[1:3]
    with atomic_path(path, suffix=".mp4") as tmp:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            if lossless:
                stream = container.add_stream("libx264rgb", rate=int(fps))
                stream.pix_fmt = "rgb24"
                stream.options = {"crf": "0", "preset": "ultrafast", "threads": X264_THREADS}
            else:
                stream = container.add_stream("libx264", rate=int(fps))
                stream.pix_fmt = "yuv420p"
                stream.options = {"crf": str(int(crf)), "preset": "fast", "threads": X264_THREADS}
            stream.width, stream.height = W, H
            for img in frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
    return Path(path)
