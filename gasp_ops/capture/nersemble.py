"""NeRSemble v2 subject reader.

Layout (``root`` holds one folder per subject)::

    {id:03d}/calibration/camera_params.json         see ``calibration``
    {id:03d}/calibration/color_calibration.json     optional, see ``calibration``
    {id:03d}/sequences/{SEQUENCE}/images/cam_{serial}.mp4
    {id:03d}/sequences/BACKGROUND/image_{serial}.jpg   clean background plate per camera (optional)

Frames are returned as uint8 RGB [T, H, W, 3], optionally downscaled (``scale``) with intrinsics to match, and
optionally colour-corrected. Problems raise one-line ``GaspInputError`` naming the file at fault.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gasp_ops.cameras import Cameras
from gasp_ops.capture.calibration import (
    Calibration, apply_colour_correction, load_calibration, load_colour_calibration, scale_intrinsics,
)
from gasp_ops.capture.video import read_video, video_info
from gasp_ops.errors import GaspInputError

BACKGROUND_SEQUENCE = "BACKGROUND"


def subject_dir(root: str | os.PathLike, subject: int) -> Path:
    return Path(root) / f"{int(subject):03d}"


def resize_image(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Area-resample [H, W, C] / [H, W] (uint8 or float) to ``width`` x ``height``."""
    import cv2

    if image.shape[1] == width and image.shape[0] == height:
        return image
    interp = cv2.INTER_AREA if width < image.shape[1] else cv2.INTER_LINEAR
    return cv2.resize(image, (int(width), int(height)), interpolation=interp)


def scaled_size(width: int, height: int, scale: float) -> tuple[int, int]:
    if not 0 < float(scale) <= 1:
        raise GaspInputError("scale", f"must be in (0, 1], got {scale!r}")
    return max(1, int(round(width * scale))), max(1, int(round(height * scale)))


@dataclass
class NersembleSubject:
    """One NeRSemble v2 subject folder. ``calibration``: its cameras; ``colour``: serial -> [3, 4] (may be empty)."""

    root: Path
    subject: int
    calibration: Calibration
    colour: dict[str, np.ndarray]

    @classmethod
    def open(cls, root: str | os.PathLike, subject: int) -> "NersembleSubject":
        d = subject_dir(root, subject)
        if not d.is_dir():
            raise GaspInputError(str(d), "subject folder not found")
        calib = load_calibration(d / "calibration" / "camera_params.json")
        cpath = d / "calibration" / "color_calibration.json"
        colour = load_colour_calibration(cpath) if cpath.is_file() else {}
        return cls(root=d, subject=int(subject), calibration=calib, colour=colour)

    # ------------------------------------------------------------------ paths
    def sequences(self) -> list[str]:
        seq = self.root / "sequences"
        return sorted(p.name for p in seq.iterdir() if p.is_dir() and p.name != BACKGROUND_SEQUENCE) \
            if seq.is_dir() else []

    def video_path(self, sequence: str, serial: str) -> Path:
        return self.root / "sequences" / sequence / "images" / f"cam_{serial}.mp4"

    def background_path(self, serial: str) -> Path:
        return self.root / "sequences" / BACKGROUND_SEQUENCE / f"image_{serial}.jpg"

    def video_serials(self, sequence: str) -> list[str]:
        d = self.root / "sequences" / sequence / "images"
        if not d.is_dir():
            raise GaspInputError(str(d), f"sequence {sequence!r} has no images folder")
        return sorted(p.stem[len("cam_"):] for p in d.glob("cam_*.mp4"))

    # ------------------------------------------------------------------ checks
    def usable_serials(self, sequence: str, serials: list[str] | None = None) -> tuple[list[str], list[str]]:
        """(cameras with both calibration and a video, one-line problems for the others)."""
        videos = set(self.video_serials(sequence))
        calibrated = set(self.calibration.serials)
        wanted = sorted(videos | calibrated) if serials is None else list(serials)
        ok, problems = [], []
        for s in wanted:
            if s not in calibrated:
                problems.append(str(GaspInputError(str(self.calibration.path),
                                                   f"camera {s} has a video but is missing from 'world_2_cam'")))
            elif s not in videos:
                problems.append(str(GaspInputError(str(self.video_path(sequence, s)),
                                                   f"camera {s} is calibrated but has no video")))
            else:
                ok.append(s)
        return ok, problems

    def frame_count(self, sequence: str, serials: list[str]) -> int:
        """Frames shared by ``serials``; ``GaspInputError`` naming the odd file when the counts differ."""
        counts = {s: video_info(self.video_path(sequence, s))[0] for s in serials}
        ref = max(set(counts.values()), key=list(counts.values()).count)
        for s, n in counts.items():
            if n != ref:
                raise GaspInputError(str(self.video_path(sequence, s)),
                                     f"has {n} frames, the other cameras of {sequence} have {ref}")
        return ref

    # ------------------------------------------------------------------ data
    def load_frames(self, sequence: str, serial: str, frames=None, scale: float = 1.0,
                    colour_correct: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(uint8 RGB [T, h, w, 3], K [3, 3] for that size). ``scale`` in (0, 1] downscales (area filter)."""
        self.calibration.extrinsics(serial)
        video = read_video(self.video_path(sequence, serial), frames)
        H, W = video.shape[1:3]
        K = self.calibration.intrinsics(serial, W, H)
        w, h = scaled_size(W, H, scale)
        if (w, h) != (W, H):
            video = np.stack([resize_image(f, w, h) for f in video])
            K = scale_intrinsics(K, w / W, h / H)
        if colour_correct and serial in self.colour:
            video = apply_colour_correction(video, self.colour[serial])
        return video, K

    def load_background(self, serial: str, width: int, height: int, colour_correct: bool = False) -> np.ndarray | None:
        """The clean plate of ``serial`` resized to ``width`` x ``height`` (uint8 RGB), or None if absent."""
        import cv2

        p = self.background_path(serial)
        if not p.is_file():
            return None
        from gasp_ops.io.image_limits import check_image_pixels

        check_image_pixels(p)  # header only: refuse image bombs before decoding
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is None:
            raise GaspInputError(str(p), "not a readable image")
        img = resize_image(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), width, height)
        if colour_correct and serial in self.colour:
            img = apply_colour_correction(img, self.colour[serial])
        return img

    def cameras(self, serials: list[str], width: int, height: int) -> Cameras:
        """``Cameras`` for ``serials`` at image size ``width`` x ``height``."""
        w2c = np.stack([self.calibration.extrinsics(s) for s in serials])
        K = np.stack([self.calibration.intrinsics(s, width, height) for s in serials])
        return Cameras(torch.tensor(w2c, dtype=torch.float32), torch.tensor(K, dtype=torch.float32), width, height)
