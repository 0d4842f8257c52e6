"""``plate`` matting: background subtraction against a clean per-camera plate, then edge refinement.

1. Gain match: per-channel gain of the frame against the plate, fitted on the image border (mostly background).
2. Difference: per-pixel colour distance to the plate after a small blur of both, thresholded at ``threshold``
   times the residual level of the background (the 25th percentile of the distance; clamped to [8, 40] / 255).
3. Core mask: threshold, keep the large connected components, fill holes (foreground that happens to match the
   plate inside the person stays foreground).
4. Edge refinement: in a band of ``band`` px around the core mask's edge, alpha solves the compositing equation
   I = a F + (1 - a) B along the F - B direction, with F the nearest interior colour.
"""

from __future__ import annotations

import numpy as np


def _border(mask_shape, width: int) -> np.ndarray:
    b = np.zeros(mask_shape, bool)
    b[:width], b[-width:], b[:, :width], b[:, -width:] = True, True, True, True
    return b


def plate_matte(image: np.ndarray, plate: np.ndarray, threshold: float = 6.0, band: int = 2,
                min_component: float = 0.002) -> np.ndarray:
    """Alpha [H, W] float32 in [0, 1] of uint8 RGB ``image`` [H, W, 3] against the clean ``plate`` [H, W, 3]."""
    import cv2

    I = image.astype(np.float32) / 255.0
    B = plate.astype(np.float32) / 255.0
    H, W = I.shape[:2]
    border = _border((H, W), max(2, min(H, W) // 40))
    border[H // 2:] = False  # the body usually reaches the bottom edge: fit on the top half of the border
    gain = np.median(I[border] + 1e-3, 0) / np.median(B[border] + 1e-3, 0)
    B = np.clip(B * gain, 0, 1)
    Is, Bs = cv2.GaussianBlur(I, (0, 0), 1.0), cv2.GaussianBlur(B, (0, 0), 1.0)
    diff = np.linalg.norm(Is - Bs, axis=-1)
    noise = float(np.percentile(diff, 25))  # the plate covers well over a quarter of any head capture
    cut = float(np.clip(threshold * noise, 8.0 / 255.0, 40.0 / 255.0))
    core = (diff > cut).astype(np.uint8)
    core = cv2.morphologyEx(core, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(core, connectivity=8)
    keep = np.zeros(n, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_component * H * W
    core = keep[labels].astype(np.uint8)
    core = fill_holes(core)
    return refine_edges(I, B, core, band)


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """uint8 {0, 1} [H, W] with every background region not connected to the image border filled."""
    import cv2

    H, W = mask.shape
    flood = np.zeros((H + 2, W + 2), np.uint8)
    flood[1:-1, 1:-1] = mask
    ff_mask = np.zeros((H + 4, W + 4), np.uint8)
    cv2.floodFill(flood, ff_mask, (0, 0), 1)
    holes = flood[1:-1, 1:-1] == 0
    return (mask.astype(bool) | holes).astype(np.uint8)


def refine_edges(I: np.ndarray, B: np.ndarray, core: np.ndarray, band: int) -> np.ndarray:
    """Soft alpha near the edge of ``core`` from the compositing equation (see module docstring)."""
    import cv2

    alpha = core.astype(np.float32)
    if band <= 0 or not core.any():
        return alpha
    k = np.ones((2 * band + 1, 2 * band + 1), np.uint8)
    unknown = (cv2.dilate(core, k) > 0) & ~(cv2.erode(core, k) > 0)
    inner = cv2.erode(core, k) > 0
    if not inner.any():
        return alpha
    # nearest interior colour: distance transform labels of the interior pixels
    _, lab = cv2.distanceTransformWithLabels((~inner).astype(np.uint8), cv2.DIST_L2, 3,
                                             labelType=cv2.DIST_LABEL_PIXEL)
    ys, xs = np.nonzero(inner)
    lut = np.zeros((lab.max() + 1, 3), np.float32)
    lut[lab[ys, xs]] = I[ys, xs]
    F = lut[lab]
    d = F - B
    a = ((I - B) * d).sum(-1) / np.maximum((d * d).sum(-1), 1e-4)
    weak = (d * d).sum(-1) < (8.0 / 255.0) ** 2  # foreground too close to the plate: keep the hard mask
    a = np.where(weak, alpha, np.clip(a, 0.0, 1.0))
    alpha[unknown] = a[unknown]
    return alpha
