"""Offline face detection and iBUG-68 landmarks with dlib (HOG detector + ``shape_predictor_68_face_landmarks``).

The model files come from the ``face_recognition_models`` distribution, located by path only (its ``__init__``
imports ``pkg_resources``, which may be missing, so the package is never imported).
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gasp_ops.errors import GaspInputError, GaspUnavailableError

PREDICTOR_FILE = "shape_predictor_68_face_landmarks.dat"


def model_dir() -> Path:
    """Folder holding face_recognition_models' ``.dat`` files (found without importing the package)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise GaspUnavailableError("face_recognition_models is not installed (pip install face-recognition-models)")
    for loc in spec.submodule_search_locations:
        d = Path(loc) / "models"
        if (d / PREDICTOR_FILE).is_file():
            return d
    raise GaspUnavailableError(f"face_recognition_models has no models/{PREDICTOR_FILE}")


@functools.lru_cache(maxsize=1)
def _dlib_models():
    import dlib

    return dlib.get_frontal_face_detector(), dlib.shape_predictor(str(model_dir() / PREDICTOR_FILE))


@dataclass
class FaceLandmarks:
    """points: [68, 2] float64 pixel coordinates (pixel centres at +0.5, as ``gasp_ops.cameras``);
    box: (left, top, right, bottom) of the detection; score: detector confidence."""

    points: np.ndarray
    box: tuple[int, int, int, int]
    score: float


def detect_landmarks(image: np.ndarray, upsample: int | None = None, min_size: int = 256) -> FaceLandmarks | None:
    """The most confident face's 68 landmarks in a uint8 RGB image [H, W, 3], or None when no face is found.

    Small images are upsampled (dlib's HOG detector finds faces >= ~80 px): by default the image is detected at
    ``min_size`` px or more along its short side, with one extra pyramid level if nothing is found.
    """
    import cv2

    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise GaspInputError("image", f"expected uint8 RGB [H, W, 3], got {image.dtype} {list(image.shape)}")
    detector, predictor = _dlib_models()
    factor = max(1.0, min_size / min(image.shape[:2]))
    big = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC) if factor > 1 else image
    big = np.ascontiguousarray(big)
    levels = [upsample] if upsample is not None else [0, 1]
    for up in levels:
        dets, scores, _ = detector.run(big, up, 0.0)
        if len(dets):
            k = int(np.argmax(scores))
            r = dets[k]
            shape = predictor(big, r)
            pts = np.array([[shape.part(i).x, shape.part(i).y] for i in range(68)], np.float64)
            pts = (pts + 0.5) / factor  # dlib integer pixel -> pixel centre, back to the original size
            box = tuple(int(round(v / factor)) for v in (r.left(), r.top(), r.right(), r.bottom()))
            return FaceLandmarks(points=pts, box=box, score=float(scores[k]))
    return None
