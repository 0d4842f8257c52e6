"""A phone / webcam capture, as people take it, framed on one head: decode -> detect every face -> choose one ->
crop around the head -> the camera of the crop. Every decision goes into ``record`` (the avatar's provenance).

Photos: decoded with ``image_decode.decode_image`` (EXIF orientation, grayscale, 16-bit, alpha) at full
resolution (after the image-bomb check). Videos: frames decoded by ``phone.load_capture`` at most
``VIDEO_SIDE`` px on the long side. Faces: ``face_choice`` (largest first; ``face`` = N picks the N-th). For a
video the face is chosen on the first frame with a face and followed to the overlapping detection in later frames;
the crop is the union of the per-frame head crops, so one camera serves every frame.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gasp_ops.cameras import Cameras
from gasp_ops.capture.face_choice import FaceBox, choose_face, detect_faces, face_record
from gasp_ops.capture.photo_crop import crop_frames, cropped_camera, head_crop_box, union_box
from gasp_ops.errors import GaspInputError

#: Long side of decoded video frames (before the crop).
VIDEO_SIDE = 1280
#: Long side of the crop handed to tracking and fitting (downscaled only).
CROP_SIDE = 512


@dataclass
class FramedCapture:
    """frames [T, h, w, 3] uint8 (the crop); alpha [T, h, w] float32 or None (the photo's own matte);
    cameras: the one camera (world = camera frame) that sees every frame; record: provenance dict."""

    frames: np.ndarray
    alpha: np.ndarray | None
    cameras: Cameras
    record: dict = field(default_factory=dict)


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def follow_face(per_frame: list[list[FaceBox]], start: int, chosen: FaceBox) -> list[FaceBox | None]:
    """The chosen face in every frame: the detection overlapping the previous frame's box most (IoU > 0.3)."""
    track: list[FaceBox | None] = [None] * len(per_frame)
    track[start] = chosen
    for order in (range(start + 1, len(per_frame)), range(start - 1, -1, -1)):
        prev = chosen
        for t in order:
            best = max(per_frame[t], key=lambda b: _iou(b.box, prev.box), default=None)
            if best is not None and _iou(best.box, prev.box) > 0.3:
                track[t] = prev = best
    return track


def read_frames(path: Path, frame_step: int, max_frames: int) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """(frames [T, H, W, 3] uint8, alpha [T, H, W] or None, decode notes) of a photo or a video."""
    from gasp_ops.capture.image_decode import decode_image
    from gasp_ops.capture.phone import IMAGE_SUFFIXES, load_capture

    if not path.is_file():
        raise GaspInputError(str(path), "file not found")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        from gasp_ops.io.image_limits import check_image_pixels

        check_image_pixels(path)  # header only: refuse image bombs before decoding
        d = decode_image(path)
        return d.rgb[None], None if d.alpha is None else d.alpha[None], d.notes
    frames = load_capture(path, frame_step, max_frames, max_side=VIDEO_SIDE)
    return frames, None, {"video_frames": int(len(frames)), "size": [int(frames.shape[2]), int(frames.shape[1])]}


def frame_capture(path: str | os.PathLike, *, frames: np.ndarray | None = None, face: int | None = None,
                  fov_deg: float = 60.0, frame_step: int = 1, max_frames: int = 60, crop_side: int = CROP_SIDE,
                  log=None) -> FramedCapture:
    """Decode ``path`` (or take uint8 RGB ``frames`` [T, H, W, 3], then ``path`` only names it), choose the face
    and crop around the head (see module docstring). Prints (``log``) how many faces were found and which was used.
    """
    log = log or (lambda m: None)
    path = Path(path)
    if frames is None:
        images, alpha, notes = read_frames(path, frame_step, max_frames)
    else:
        images, alpha, notes = np.asarray(frames), None, {"size": [int(frames.shape[2]), int(frames.shape[1])]}
    T, H, W = images.shape[:3]
    per_frame = [detect_faces(images[0])] + [[] for _ in range(T - 1)]
    start = 0
    if T > 1:
        per_frame = [detect_faces(f) for f in images]
        start = next((t for t, f in enumerate(per_frame) if f), 0)
    faces = per_frame[start]
    chosen = choose_face(faces, face, str(path))
    track = follow_face(per_frame, start, chosen) if T > 1 else [chosen]
    boxes = [head_crop_box(b.box, W, H) for b in track if b is not None]
    box = head_crop_box(chosen.box, W, H) if len(boxes) == 1 else tuple(int(v) for v in union_box(boxes))
    crop = crop_frames(images, box, crop_side)
    h, w = crop.shape[1:3]
    cams = cropped_camera(W, H, box, w, h, fov_deg)
    crop_alpha = None if alpha is None else crop_frames(alpha, box, crop_side)
    record = {**face_record(faces, chosen, face), "frame_used_for_choice": int(start),
              "crop_box": [int(v) for v in box], "crop_size": [int(w), int(h)], "input": notes}
    which = "largest" if face is None else f"--face {face}"
    log(f"{path.name}: found {len(faces)} face(s); using face {record['face_index']} ({which}, "
        f"{chosen.side:.0f} px box at {record['face_box'][:2]}); crop {list(box)} -> {w}x{h} px")
    return FramedCapture(crop, crop_alpha, cams, record)


def read_capture_record(folder: str | os.PathLike) -> dict:
    """The ``capture.json`` record a preprocessed phone/webcam folder holds ({} when none: e.g. NeRSemble)."""
    import json

    p = Path(folder) / "capture.json"
    if not p.is_file():
        return {}
    try:
        record = json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise GaspInputError(str(p), f"not readable JSON ({exc.__class__.__name__})") from None
    if not isinstance(record, dict):
        raise GaspInputError(str(p), "must hold a JSON object")
    return record
