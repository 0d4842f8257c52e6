"""``face_net_grabcut`` matting: GrabCut seeded by the tracked head (as ``grabcut``) with face_net's alpha
(``face_net.py``, the project's own network) as the second cue of ``matting_cue``.

face_net's alpha alone is near exact on the synthetic photos it was trained for but leaves holes in real hair over
clutter; GrabCut alone takes busy background into the head's probable region. Together (``CUE_OPTIONS``, chosen on
held-out synthetic photos and checked on the real astronaut composite, ``docs/benchmarks.md#mattes-and-landmarks``):
the alpha widens the probable foreground near the head, marks background beyond a margin around it as definite,
makes what it is sure of near the face definite foreground (dark hair on a dark background) and what it rejects
inside the head region probable background; GrabCut's colour models decide the rest, so real hair the network
misses stays in.
"""

from __future__ import annotations

import numpy as np

CUE_OPTIONS = {"maybe": 0.5, "never": 0.02, "near": 25, "margin": 0.15, "demote": 0.1, "certain": 0.9,
               "reach": 0.15}


def face_net_grabcut_mattes_after_tracking(head, images: np.ndarray, res, cameras, net=None) -> np.ndarray:
    """Mattes [T, C, H, W] for images [T, C, H, W, 3] from a ``TrackingResult``; ``net``: a loaded ``FaceNet``
    (default: the shipped, SHA-256-checked file)."""
    from gasp_ops.capture.face_net import load_face_net, predict
    from gasp_ops.capture.matting_cue import cued_mattes_after_tracking

    T, C = images.shape[:2]
    alpha = predict(net if net is not None else load_face_net(), images.reshape(T * C, *images.shape[2:]))[0]
    return cued_mattes_after_tracking(head, images, res, cameras, alpha.reshape(T, C, *alpha.shape[1:]),
                                      **CUE_OPTIONS)
