"""Phone / webcam captures: one video or photo, no calibration -> intrinsics from a field-of-view prior -> the same
landmarks, tracking (monocular), matting and frame table as NeRSemble.

The camera is the world frame (world_to_cam = I); square pixels, principal point at the centre, horizontal field of
view ``fov_deg`` along the image width (default 60 degrees: a phone main camera in landscape / a webcam).
``preprocess_capture`` frames the capture on one head first (``head_framing``): the camera is then that of the
uncropped photo seen through the crop (principal point off-centre).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import torch

from gasp_ops.cameras import Cameras, intrinsics_from_fov
from gasp_ops.capture.frame_table import make_table
from gasp_ops.capture.nersemble import resize_image
from gasp_ops.capture.outputs import write_sequence
from gasp_ops.capture.preprocess import PreprocessReport
from gasp_ops.capture.tracking import Tracker, TrackingConfig
from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.headmodel.cpu_copy import on_cpu
from gasp_ops.io.tables import write_parquet

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def load_capture(path: str | os.PathLike, frame_step: int = 1, max_frames: int = 60, max_side: int = 512) -> np.ndarray:
    """uint8 RGB frames [T, H, W, 3] of a photo or video, downscaled to ``max_side``."""
    import cv2

    from gasp_ops.capture.video import read_video

    path = Path(path)
    if not path.is_file():
        raise GaspInputError(str(path), "file not found")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        from gasp_ops.io.image_limits import check_image_pixels

        check_image_pixels(path)  # header only: refuse image bombs before decoding
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise GaspInputError(str(path), "not a readable image")
        frames = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)[None]
    else:
        from gasp_ops.capture.video import video_info
        from gasp_ops.io.image_limits import check_frame_pixels

        count, width, height = video_info(path)
        check_frame_pixels(str(path), width, height)
        step = max(1, int(frame_step))
        # Decode only the frames kept (a long video would not fit in memory); count 0 = not in the header.
        frames = read_video(path, range(0, min(count, step * max_frames), step) if count else None)
        frames = frames[::1 if count else step][:max_frames]
    H, W = frames.shape[1:3]
    s = min(1.0, max_side / max(H, W))
    if s < 1:
        frames = np.stack([resize_image(f, round(W * s), round(H * s)) for f in frames])
    return frames


def phone_camera(width: int, height: int, fov_deg: float = 60.0) -> Cameras:
    return Cameras(torch.eye(4)[None], intrinsics_from_fov(fov_deg, width, height)[None], width, height)


def preprocess_capture(path: str | os.PathLike, out_dir: str | os.PathLike, head: HeadModel, *,
                       frames: np.ndarray | None = None, fov_deg: float = 60.0, matting: str = "auto",
                       landmarks: str = "auto", face: int | None = None, rvm_path: str | None = None,
                       frame_step: int = 1, max_frames: int = 60, config: TrackingConfig | None = None,
                       name: str | None = None, log=None) -> PreprocessReport:
    """Preprocess a phone/webcam photo or video into ``out_dir/{name}`` (frame table ``frames.parquet``, and
    ``capture.json``: the face choice, crop, decoding and backends, for the avatar's provenance).

    frames: already-decoded uint8 RGB frames [T, H, W, 3] (then ``path`` only names the capture). The capture is
    framed on one head first (``head_framing``: every face detected, the largest or ``face`` = N chosen, a crop
    keeping hair and neck); landmarks / matting backends: ``face_backends`` (``auto``: the project's face_net
    landmarks, GrabCut with face_net's alpha as cue - or MediaPipe's matte when installed - all commercially
    clean). Raises ``GaspInputError`` naming ``path`` when no usable face is found.
    """
    import json

    from gasp_ops.capture.face_backends import (
        detect_landmarks_all, mattes_after_tracking, mattes_before_tracking, resolve_backends,
    )
    from gasp_ops.capture.head_framing import frame_capture
    from gasp_ops.io.atomic import write_text_atomic

    path = Path(path)
    framed = frame_capture(path, frames=frames, face=face, fov_deg=fov_deg, frame_step=frame_step,
                           max_frames=max_frames, log=log)
    images, cams = framed.frames, framed.cameras
    T = images.shape[0]
    used = resolve_backends(matting, landmarks, framed.alpha is not None)
    framed.record.update(landmarks=used.landmarks, matting=used.matting)
    (log or (lambda m: None))(f"landmarks: {used.landmarks}, matting: {used.matting}")
    lm68, _ = detect_landmarks_all(images, used.landmarks)
    lm = lm68[:, None]
    if not np.isfinite(lm[..., 0, 0]).any():
        raise GaspInputError(str(path), f"no face found by the {used.landmarks} landmark detector in the crop")
    mattes = mattes_before_tracking(images, used.matting, alpha=framed.alpha, rvm_path=rvm_path, source=str(path))
    mattes = None if mattes is None else mattes[:, None]
    cfg = config or TrackingConfig()
    head = on_cpu(head)  # tracking runs on the CPU, where the frames, cameras and landmarks are
    res = Tracker(head, images[:, None], cams, mattes, lm, cfg, video=T > 2).track()
    if mattes is None:
        mattes = mattes_after_tracking(used.matting, head, images[:, None], res, cams)
    name = name or path.stem
    out = Path(out_dir) / name
    stage = Path(out_dir) / f".staging_{name}"
    shutil.rmtree(stage, ignore_errors=True)
    rows, overlays = write_sequence(stage, Path("."), head, res, images[:, None], mattes, cams, ["phone"],
                                    list(range(T)), {"source": "capture", "subject": -1, "sequence": name})
    table = make_table(rows)
    write_parquet(stage / "frames.parquet", table)
    write_text_atomic(stage / "capture.json", json.dumps(framed.record, indent=1))
    if out.exists():
        shutil.rmtree(out)
    os.replace(stage, out)
    report = PreprocessReport(table=table, table_path=out / "frames.parquet")
    report.tracking[name], report.overlays[name], report.mattes[name] = res, overlays, mattes
    report.cameras[name] = ["phone"]
    report.capture = framed.record
    return report
