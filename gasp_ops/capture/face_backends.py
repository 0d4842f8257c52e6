"""Which landmark detector and which matting a phone / webcam capture uses.

``landmarks``: ``face_net`` (the project's own network trained on its synthetic renders only, ``face_net.py``;
weights ``gasp_models/face_net.safetensors``, SHA-256 pinned), ``dlib`` (HOG detector + the 68-point shape
predictor; that model's training data, iBUG 300-W, excludes commercial use) or ``mediapipe`` (face mesh,
Apache-2.0; see ``mediapipe_backend``). ``auto`` = face_net (shipped; a missing or altered file is a clear error,
never a silent fall back to dlib); mediapipe, then dlib, only in a build that ships no face_net digest.

``matting``: ``alpha`` (the photo's own non-trivial alpha channel, see ``image_decode``), ``grabcut`` (GrabCut
seeded by the tracked head), ``mediapipe`` (the same GrabCut with MediaPipe's selfie segmentation as a second cue,
see ``matting_mediapipe``), ``face_net_grabcut`` (the same GrabCut with face_net's alpha as the cue, see
``matting_face_net``), ``face_net`` (the network's alpha alone) or ``rvm`` (a user's RobustVideoMatting file).
``auto`` = alpha when the photo has one, else mediapipe when it can run here, else face_net_grabcut (face_net
shipped), else grabcut. face_net's alpha alone is not ``auto``: it beats GrabCut on held-out synthetic photos (IoU
0.988 vs 0.929 over clutter) but loses large parts of the hair on the astronaut pasted over scikit-image's coffee
picture; as GrabCut's cue it keeps that hair and the synthetic gain (``docs/benchmarks.md#mattes-and-landmarks``).
(GrabCut has no learned weights, face_net was trained on the project's own renders: every ``auto`` choice is
commercially clean.) (``plate`` needs a clean background photo per camera: NeRSemble captures.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gasp_ops.errors import GaspInputError

LANDMARKS = ("auto", "dlib", "mediapipe", "face_net")
MATTING = ("auto", "alpha", "mediapipe", "face_net_grabcut", "grabcut", "rvm", "face_net")


@dataclass(frozen=True)
class Backends:
    landmarks: str
    matting: str


def resolve_backends(matting: str = "auto", landmarks: str = "auto", has_alpha: bool = False) -> Backends:
    """Concrete backends for the requested ones (see module docstring)."""
    from gasp_ops.capture.mediapipe_backend import mediapipe_mode

    if landmarks not in LANDMARKS:
        raise GaspInputError("landmarks", f"unknown backend {landmarks!r}; known: {', '.join(LANDMARKS)}")
    if matting not in MATTING:
        raise GaspInputError("matting", f"phone/webcam captures: one of {', '.join(MATTING)}, got {matting!r}")
    from gasp_ops.capture.face_net import shipped

    if landmarks == "auto":
        landmarks = "face_net" if shipped() else "mediapipe" if mediapipe_mode() is not None else "dlib"
    if matting == "auto":
        matting = ("alpha" if has_alpha else "mediapipe" if mediapipe_mode() is not None
                   else "face_net_grabcut" if shipped() else "grabcut")
    if matting == "alpha" and not has_alpha:
        raise GaspInputError("matting", "'alpha' needs a photo with a non-trivial alpha channel")
    return Backends(landmarks, matting)


def detect_landmarks_all(images: np.ndarray, backend: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(iBUG-68 landmarks [T, 68, 2], NaN where no face; face mesh [T, 478, 2] or None) for images [T, H, W, 3]."""
    if backend == "mediapipe":
        from gasp_ops.capture.mediapipe_backend import detect_landmarks_mediapipe

        return detect_landmarks_mediapipe(images)
    if backend == "face_net":
        from gasp_ops.capture.face_net import load_face_net, predict

        return predict(load_face_net(), np.asarray(images))[1], None
    if backend != "dlib":
        raise GaspInputError("landmarks", f"unknown backend {backend!r}")
    from gasp_ops.capture.preprocess import detect_all

    return detect_all(np.asarray(images)[:, None])[:, 0], None


def mattes_before_tracking(images: np.ndarray, backend: str, *, alpha: np.ndarray | None = None,
                           rvm_path: str | None = None, source: str = "frames") -> np.ndarray | None:
    """Mattes [T, H, W] float32 for images [T, H, W, 3], or None for ``grabcut`` / ``mediapipe`` /
    ``face_net_grabcut`` (their seeds come from the tracked head: ``mattes_after_tracking``)."""
    if backend in ("grabcut", "mediapipe", "face_net_grabcut"):
        return None
    if backend == "alpha":
        return np.asarray(alpha, np.float32)
    if backend == "face_net":
        from gasp_ops.capture.face_net import load_face_net, predict

        return predict(load_face_net(), np.asarray(images))[0]
    if backend == "rvm":
        from gasp_ops.capture.matting import compute_mattes
        from gasp_ops.capture.matting_rvm import load_rvm

        return compute_mattes("rvm", images, rvm_model=load_rvm(rvm_path or ""), source=source)
    raise GaspInputError("matting", f"unknown backend {backend!r}")


def mattes_after_tracking(backend: str, head, images: np.ndarray, res, cameras) -> np.ndarray:
    """Mattes [T, C, H, W] of ``grabcut`` / ``mediapipe`` / ``face_net_grabcut`` for images [T, C, H, W, 3] and a
    ``TrackingResult``."""
    if backend == "face_net_grabcut":
        from gasp_ops.capture.matting_face_net import face_net_grabcut_mattes_after_tracking

        return face_net_grabcut_mattes_after_tracking(head, images, res, cameras)
    if backend == "mediapipe":
        from gasp_ops.capture.matting_mediapipe import mediapipe_mattes_after_tracking
        from gasp_ops.capture.mediapipe_backend import run_mediapipe

        T, C = images.shape[:2]
        seg = run_mediapipe(images.reshape(T * C, *images.shape[2:]), ("segment",))["segment"]
        return mediapipe_mattes_after_tracking(head, images, res, cameras, seg.reshape(T, C, *seg.shape[1:]))
    from gasp_ops.capture.preprocess import mattes_after_tracking as grabcut_after_tracking

    return grabcut_after_tracking(head, images, res, cameras)
