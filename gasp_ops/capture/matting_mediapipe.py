"""``mediapipe`` matting: GrabCut seeded by the tracked head (as ``grabcut``) with MediaPipe's selfie segmentation
as a second cue (``matting_cue``: the selfie model's probability, 256 x 256 inside the model, is soft at the hair
and fooled by busy backgrounds (fur, textures), so it only adjusts GrabCut's seeds).
"""

from __future__ import annotations

import numpy as np


def mediapipe_matte(image: np.ndarray, segment: np.ndarray, sure_fg: np.ndarray, probable_fg: np.ndarray,
                    maybe: float = 0.5, never: float = 0.02, near: int = 12, iterations: int = 4,
                    feather: float = 1.0) -> np.ndarray:
    """Alpha [H, W] float32 from uint8 RGB ``image`` [H, W, 3], the selfie model's probability ``segment`` [H, W]
    and the tracked head's GrabCut seeds (sure_fg, probable_fg: [H, W] bool); see ``matting_cue``."""
    from gasp_ops.capture.matting_cue import cued_grabcut_matte

    return cued_grabcut_matte(image, segment, sure_fg, probable_fg, maybe=maybe, never=never, near=near,
                              iterations=iterations, feather=feather)


def mediapipe_mattes_after_tracking(head, images: np.ndarray, res, cameras, segment: np.ndarray) -> np.ndarray:
    """Mattes [T, C, H, W] for images [T, C, H, W, 3] from a ``TrackingResult`` and selfie probabilities
    [T, C, H, W] (as ``preprocess.mattes_after_tracking`` does for ``grabcut``)."""
    from gasp_ops.capture.matting_cue import cued_mattes_after_tracking

    return cued_mattes_after_tracking(head, images, res, cameras, segment)
