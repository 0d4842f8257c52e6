"""``mediapipe`` matting: GrabCut seeded by the tracked head (as ``grabcut``) with MediaPipe's selfie segmentation
as a second cue.

The selfie model's person probability (256 x 256 inside the model) is soft at the hair and fooled by busy
backgrounds (fur, textures), so it is not used alone; the tracked head's seeds (``seeds.grabcut_seeds``: face
region = definite foreground, head dilated + a body box below = probable foreground) are extended by it:

- probable foreground also where the probability > ``maybe`` near the head (within ``near`` px of the seeds);
- definite background where the probability < ``never`` outside the head's probable region (the clutter GrabCut
  alone would take for hair or clothes).

GrabCut then decides from colour; the component holding the face is kept, holes filled, the edge feathered.
"""

from __future__ import annotations

import numpy as np


def mediapipe_matte(image: np.ndarray, segment: np.ndarray, sure_fg: np.ndarray, probable_fg: np.ndarray,
                    maybe: float = 0.5, never: float = 0.02, near: int = 12, iterations: int = 4,
                    feather: float = 1.0) -> np.ndarray:
    """Alpha [H, W] float32 from uint8 RGB ``image`` [H, W, 3], the selfie model's probability ``segment`` [H, W]
    and the tracked head's GrabCut seeds (sure_fg, probable_fg: [H, W] bool); see module docstring."""
    import cv2

    from gasp_ops.capture.matting_grabcut import grabcut_matte

    k = np.ones((2 * near + 1, 2 * near + 1), np.uint8)
    around = cv2.dilate(probable_fg.astype(np.uint8), k) > 0
    probable = probable_fg | ((segment > maybe) & around)
    return grabcut_matte(image, sure_fg, probable, iterations=iterations, feather=feather,
                         definite_bg=(segment < never) & ~probable_fg)


def mediapipe_mattes_after_tracking(head, images: np.ndarray, res, cameras, segment: np.ndarray) -> np.ndarray:
    """Mattes [T, C, H, W] for images [T, C, H, W, 3] from a ``TrackingResult`` and selfie probabilities
    [T, C, H, W] (as ``preprocess.mattes_after_tracking`` does for ``grabcut``)."""
    from gasp_ops.capture.seeds import grabcut_seeds

    T, C = images.shape[:2]
    out = np.zeros(images.shape[:4], np.float32)
    for c in range(C):
        for t in range(T):
            sure, prob = grabcut_seeds(head, res.vertices[t], cameras[c])
            out[t, c] = mediapipe_matte(images[t, c], segment[t, c], sure, prob)
    return out
