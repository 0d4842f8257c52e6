"""Crop a photo / video around the chosen head, keeping hair and neck, and the camera that goes with the crop.

Crop: a square of ``CROP_SCALE`` x the face box side (dlib's box spans about brow to chin), centred on the box
centre shifted up by ``SHIFT_UP`` x the square's side: about 0.9 box heights of room above the brow for hair and
0.5 below the chin for the neck. A square that leaves the image is slid back inside; an image smaller than the
square keeps its full extent in that direction (the crop is then not square). The crop is downscaled (never
upscaled) so its long side is at most ``max_side``.

Camera: the phone prior (``intrinsics_from_fov``: ``fov_deg`` across the *uncropped* image width, principal point
at its centre) moved into the crop: K' = S (K - offset), so the crop is seen through the original lens.
"""

from __future__ import annotations

import numpy as np
import torch

from gasp_ops.cameras import Cameras, intrinsics_from_fov

CROP_SCALE = 2.4
SHIFT_UP = 0.08


def head_crop_box(face_box, width: int, height: int, scale: float = CROP_SCALE,
                  shift_up: float = SHIFT_UP) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) integer pixel box (x1, y1 exclusive) inside a ``width`` x ``height`` image."""
    l, t, r, b = (float(v) for v in face_box)
    side = scale * max(r - l, b - t)
    cx, cy = 0.5 * (l + r), 0.5 * (t + b) - shift_up * side

    def span(c: float, n: int) -> tuple[int, int]:
        s = min(int(round(side)), n)
        a = int(round(c - 0.5 * s))
        a = min(max(a, 0), n - s)
        return a, a + s

    x0, x1 = span(cx, int(width))
    y0, y1 = span(cy, int(height))
    return x0, y0, x1, y1


def union_box(boxes) -> tuple[float, float, float, float]:
    """Smallest box holding every (left, top, right, bottom) box given."""
    a = np.asarray(list(boxes), np.float64).reshape(-1, 4)
    return float(a[:, 0].min()), float(a[:, 1].min()), float(a[:, 2].max()), float(a[:, 3].max())


def crop_scale(box, max_side: int) -> float:
    """Downscale factor (<= 1) that brings the crop's long side to ``max_side``."""
    x0, y0, x1, y1 = box
    return min(1.0, float(max_side) / max(x1 - x0, y1 - y0))


def crop_frames(frames: np.ndarray, box, max_side: int) -> np.ndarray:
    """Frames [T, H, W, C] (or [T, H, W]) cropped to ``box`` and downscaled (area filter) to ``max_side``."""
    from gasp_ops.capture.nersemble import resize_image

    x0, y0, x1, y1 = box
    s = crop_scale(box, max_side)
    out = frames[:, y0:y1, x0:x1]
    if s < 1:
        w, h = max(1, round((x1 - x0) * s)), max(1, round((y1 - y0) * s))
        out = np.stack([resize_image(np.ascontiguousarray(f), w, h) for f in out])
    return np.ascontiguousarray(out)


def cropped_camera(width: int, height: int, box, out_width: int, out_height: int, fov_deg: float = 60.0) -> Cameras:
    """The phone camera of the uncropped ``width`` x ``height`` image, seen through ``box`` resized to
    ``out_width`` x ``out_height`` (see module docstring). World frame = camera frame."""
    x0, y0, x1, y1 = box
    K = intrinsics_from_fov(fov_deg, width, height).clone().double()
    sx, sy = out_width / (x1 - x0), out_height / (y1 - y0)
    K[0, 2] -= x0
    K[1, 2] -= y0
    K[0] *= sx
    K[1] *= sy
    return Cameras(torch.eye(4)[None], K.float()[None], int(out_width), int(out_height))
