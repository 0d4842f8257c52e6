"""Which face to enrol: detect every face, order them, pick one.

Detector: dlib's built-in HOG frontal face detector (its weights are compiled into dlib; no landmark model and no
network involved). The image is detected at ``DETECT_SIDE`` px on its long side (downscaled if larger, upscaled so
the short side is >= 256 px if smaller) with one pyramid upsampling level, so faces from ~40 detection pixels up
are found; detections scoring below ``MIN_SCORE`` (the HOG detector's margin; 0 is its decision boundary) are
dropped as false positives (badges, patterns) - unless nothing scores that high, then every detection scoring
>= 0 is kept. When HOG finds nothing (it misses turned or stylised faces) and MediaPipe can run
(``mediapipe_backend``), the face mesh's faces are used, their boxes mapped to HOG-like boxes (a square of
max(mesh width, 0.88 x mesh height) on the mesh box centre: the ratios measured where both detect). Boxes are
reported in the input image's pixels; ``FaceBox.detector`` says which detector found them.

Order and default rule: faces sorted by box area, largest first; ``face=None`` picks face 0 - the largest, i.e.
usually the person nearest the camera. ``face=N`` picks the N-th (0-based) in that order. A chosen face whose box
side is below ``MIN_FACE_PX`` (64 px in the input image) is refused with the size found and needed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from gasp_ops.errors import GaspInputError

#: Smallest face box side (dlib box, roughly brow to chin) accepted for enrolment, in input pixels.
MIN_FACE_PX = 64
#: Detector score below which a detection is not a face (the astronaut's mission patch scores 0.12, faces > 0.5).
MIN_SCORE = 0.3
#: Long side of the image the detector runs on.
DETECT_SIDE = 1024
RULE = "largest face (faces ordered by box area, largest first; --face N picks the N-th, 0-based)"


@dataclass(frozen=True)
class FaceBox:
    """box (left, top, right, bottom) in input pixels (float); score: detector confidence."""

    box: tuple[float, float, float, float]
    score: float
    detector: str = "dlib_hog"

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def side(self) -> float:
        return max(self.width, self.height)

    @property
    def area(self) -> float:
        return self.width * self.height

    def as_list(self) -> list[float]:
        return [round(float(v), 1) for v in self.box]


@functools.lru_cache(maxsize=1)
def _detector():
    """dlib's HOG face detector, built once per process (building it costs ~0.27 s, a warm request's tenth)."""
    import dlib

    return dlib.get_frontal_face_detector()


def detect_faces(image: np.ndarray, detect_side: int = DETECT_SIDE) -> list[FaceBox]:
    """Every face in a uint8 RGB image [H, W, 3], largest box first (see module docstring)."""
    import cv2

    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise GaspInputError("image", f"expected uint8 RGB [H, W, 3], got {image.dtype} {list(image.shape)}")
    H, W = image.shape[:2]
    f = min(detect_side / max(H, W), max(1.0, 256.0 / min(H, W)))
    small = image if f == 1.0 else cv2.resize(image, (max(1, round(W * f)), max(1, round(H * f))),
                                              interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC)
    dets, scores, _ = _detector().run(np.ascontiguousarray(small), 1, 0.0)
    faces = [FaceBox((d.left() / f, d.top() / f, (d.right() + 1) / f, (d.bottom() + 1) / f), float(s))
             for d, s in zip(dets, scores)]
    faces = [b for b in faces if b.score >= MIN_SCORE] or faces
    if not faces:
        faces = mesh_faces(image)
    return sorted(faces, key=lambda b: (-b.area, -b.score))


def mesh_faces(image: np.ndarray) -> list[FaceBox]:
    """Faces of MediaPipe's face mesh as HOG-like boxes (see module docstring); [] when MediaPipe cannot run."""
    from gasp_ops.capture.mediapipe_backend import mediapipe_mode, run_mediapipe

    if mediapipe_mode() is None:
        return []
    out = []
    for l, t, r, b in run_mediapipe(image[None], ("faces",))["boxes"][0]:
        if np.isfinite(l):
            side = max(r - l, 0.88 * (b - t))
            cx, cy = 0.5 * (l + r), 0.5 * (t + b)
            out.append(FaceBox((cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2), 1.0, "mediapipe_mesh"))
    return out


def choose_face(faces: list[FaceBox], face: int | None = None, source: str = "image",
                min_face_px: int = MIN_FACE_PX) -> FaceBox:
    """The face to enrol (see module docstring); ``GaspInputError`` naming ``source`` when none fits."""
    if not faces:
        raise GaspInputError(source, "no face found")
    k = 0 if face is None else int(face)
    if not 0 <= k < len(faces):
        raise GaspInputError("--face", f"{source} has {len(faces)} face(s) (0..{len(faces) - 1}), got {face}")
    chosen = faces[k]
    if chosen.side < min_face_px:
        raise GaspInputError(source, f"face {k} is {chosen.side:.0f} px, need at least {min_face_px} px "
                             "(use a closer or larger photo)")
    return chosen


def face_record(faces: list[FaceBox], chosen: FaceBox, face: int | None) -> dict:
    """Provenance of the choice: count, index used, rule, every box (largest first)."""
    return {"faces_found": len(faces), "face_index": faces.index(chosen), "face_requested": face,
            "detector": chosen.detector,
            "rule": RULE if face is None else "--face", "face_box": chosen.as_list(),
            "all_boxes": [b.as_list() for b in faces], "min_face_px": MIN_FACE_PX}
