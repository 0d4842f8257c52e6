"""``grabcut`` matting for captures without a clean plate: OpenCV GrabCut seeded by the tracked head.

Seeds: ``sure_fg`` (e.g. the tracked mesh's face region eroded, or the landmark hull) is definite foreground,
``probable_fg`` (the tracked head silhouette dilated, plus everything below it down to the image bottom for the
neck and shoulders) probable foreground, the rest probable background with a definite-background border.
"""

from __future__ import annotations

import numpy as np

from gasp_ops.errors import GaspInputError


def grabcut_matte(image: np.ndarray, sure_fg: np.ndarray, probable_fg: np.ndarray, iterations: int = 4,
                  feather: float = 1.0, definite_bg: np.ndarray | None = None) -> np.ndarray:
    """Alpha [H, W] float32 from uint8 RGB ``image`` [H, W, 3] and boolean seeds [H, W] (``definite_bg``: more
    definite background besides the image border)."""
    import cv2

    from gasp_ops.capture.matting_plate import fill_holes

    if not sure_fg.any():
        raise GaspInputError("grabcut", "no foreground seed (no face tracked in this frame)")
    H, W = sure_fg.shape
    mask = np.full((H, W), cv2.GC_PR_BGD, np.uint8)
    mask[probable_fg] = cv2.GC_PR_FGD
    mask[sure_fg] = cv2.GC_FGD
    b = max(1, min(H, W) // 50)
    edge = np.zeros((H, W), bool)
    edge[:b], edge[:, :b], edge[:, -b:] = True, True, True
    if definite_bg is not None:
        edge |= definite_bg
    mask[edge & ~probable_fg & ~sure_fg] = cv2.GC_BGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)  # GrabCut's k-means start draws from OpenCV's global RNG: same input -> same matte
    cv2.grabCut(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), mask, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    fg = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if n > 1:  # keep the components touching the sure foreground
        ids = np.unique(labels[sure_fg & (fg > 0)])
        fg = np.isin(labels, ids[ids > 0]).astype(np.uint8)
    fg = fill_holes(fg)
    alpha = fg.astype(np.float32)
    if feather > 0:
        alpha = np.clip(cv2.GaussianBlur(alpha, (0, 0), feather) * 1.0, 0, 1)
        alpha = np.where(fg > 0, np.maximum(alpha, 0.5), np.minimum(alpha, 0.49))
    return alpha.astype(np.float32)
