"""GrabCut seeded by the tracked head with a soft person probability as a second cue (shared by the ``mediapipe``
and ``face_net_grabcut`` mattes).

``cue`` [H, W] in [0, 1] is a segmentation's person probability: MediaPipe's selfie model (``matting_mediapipe``)
or face_net's alpha (``matting_face_net``). Neither is trusted alone (soft or wrong at real hair, fooled by busy
backgrounds); the tracked head's seeds (``seeds.grabcut_seeds``: face region = definite foreground, head dilated + a
body box below = probable foreground) are adjusted by it:

- probable foreground also where the cue > ``maybe`` near the head (within ``near`` px of the seeds);
- definite background where the cue < ``never`` outside the head's probable region grown by ``margin`` (a
  fraction of the image's larger side): the clutter GrabCut alone would take for hair or clothes; the margin leaves
  real hair beyond the tracked head, which a cue may miss, to GrabCut's colour models;
- ``certain`` (optional): definite foreground also where the cue > ``certain`` inside the head's probable region
  within ``reach`` (a fraction of the image's larger side) of the face seeds: dark hair over a dark background,
  which GrabCut's colour models cannot tell apart, without the clothing far below (a space-suit ring is clothing
  to a segmentation, but not part of the head avatar);
- ``demote`` (optional): inside the probable region, probable *background* where the cue < ``demote`` (GrabCut's
  colour models start from the cue; GrabCut can still take such pixels back by colour).

GrabCut then decides from colour; the component holding the face is kept, holes filled, the edge feathered.
"""

from __future__ import annotations

import numpy as np


def cued_grabcut_matte(image: np.ndarray, cue: np.ndarray, sure_fg: np.ndarray, probable_fg: np.ndarray,
                       maybe: float = 0.5, never: float = 0.02, near: int = 12, margin: float = 0.0,
                       certain: float | None = None, reach: float = 0.15,
                       demote: float | None = None, iterations: int = 4, feather: float = 1.0) -> np.ndarray:
    """Alpha [H, W] float32 from uint8 RGB ``image`` [H, W, 3], a person probability ``cue`` [H, W] and the tracked
    head's GrabCut seeds (sure_fg, probable_fg: [H, W] bool); see module docstring."""
    import cv2

    from gasp_ops.capture.matting_grabcut import grabcut_matte

    k = np.ones((2 * near + 1, 2 * near + 1), np.uint8)
    around = cv2.dilate(probable_fg.astype(np.uint8), k) > 0
    probable = probable_fg | ((cue > maybe) & around)
    if demote is not None:
        probable &= ~(cue < demote)
    if certain is not None:
        r = max(1, round(reach * max(sure_fg.shape)))
        close = cv2.dilate(sure_fg.astype(np.uint8), np.ones((2 * r + 1, 2 * r + 1), np.uint8)) > 0
        sure_fg = sure_fg | ((cue > certain) & probable_fg & close)
    region = probable_fg
    m = round(margin * max(probable_fg.shape))
    if m > 0:
        region = cv2.dilate(probable_fg.astype(np.uint8), np.ones((2 * m + 1, 2 * m + 1), np.uint8)) > 0
    return grabcut_matte(image, sure_fg, probable, iterations=iterations, feather=feather,
                         definite_bg=(cue < never) & ~region)


def cued_mattes_after_tracking(head, images: np.ndarray, res, cameras, cue: np.ndarray, **options) -> np.ndarray:
    """Mattes [T, C, H, W] for images [T, C, H, W, 3] from a ``TrackingResult`` and person probabilities ``cue``
    [T, C, H, W] (as ``preprocess.mattes_after_tracking`` does for ``grabcut``); ``options``: those of
    ``cued_grabcut_matte``."""
    from gasp_ops.capture.seeds import grabcut_seeds

    T, C = images.shape[:2]
    out = np.zeros(images.shape[:4], np.float32)
    for c in range(C):
        for t in range(T):
            sure, prob = grabcut_seeds(head, res.vertices[t], cameras[c])
            out[t, c] = cued_grabcut_matte(images[t, c], cue[t, c], sure, prob, **options)
    return out
