"""NeRSemble calibration files: ``camera_params.json`` and ``color_calibration.json``.

camera_params.json::

    {"world_2_cam": {"<serial>": 4x4 nested list, ...},   # world -> camera, OpenCV (+x right, +y down, +z fwd)
     "intrinsics": 3x3 nested list                         # shared by every camera (NeRSemble v2)
                   or {"<serial>": 3x3, ...},              # per camera (benchmark layout)
     "resolution": [width, height]}                        # optional (written by this project): image size the
                                                           # intrinsics are for

Without ``resolution`` the intrinsics are taken to be for NeRSemble's full-resolution 3208 x 2200 frames in
whichever orientation matches the video's aspect ratio (``calibration_size``).

color_calibration.json: ``{"<serial>": 3x3 or 3x4}``; applied to RGB in [0, 1] as ``rgb' = A @ rgb + b`` with
``[A | b]`` the matrix (b = 0 for 3x3), then clipped to [0, 1].
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gasp_ops.errors import GaspInputError

#: NeRSemble full-resolution frame size (the long and the short side, pixels).
NERSEMBLE_FULL_SIZE = (3208, 2200)


def _load_json(path: Path) -> dict:
    if not path.is_file():
        raise GaspInputError(str(path), "file not found")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GaspInputError(str(path), f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise GaspInputError(str(path), "expected a JSON object")
    return data


def _matrix(path: Path, key: str, value, shapes: tuple[tuple[int, int], ...]) -> np.ndarray:
    try:
        m = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise GaspInputError(str(path), f"{key}: not a numeric matrix") from None
    if m.shape not in shapes:
        raise GaspInputError(str(path), f"{key}: expected shape {' or '.join(map(str, shapes))}, got {m.shape}")
    if not np.isfinite(m).all():
        raise GaspInputError(str(path), f"{key}: contains NaN/Inf")
    return m


@dataclass
class Calibration:
    """Cameras of one capture rig.

    world_to_cam: serial -> [4, 4] float64; K: serial -> [3, 3] float64 for images of ``size`` (width, height) or,
    when ``size`` is None, for NeRSemble full-resolution frames (orientation from the video, ``calibration_size``).
    """

    path: Path
    world_to_cam: dict[str, np.ndarray]
    K: dict[str, np.ndarray]
    size: tuple[int, int] | None

    @property
    def serials(self) -> list[str]:
        return sorted(self.world_to_cam)

    def calibration_size(self, width: int, height: int) -> tuple[int, int]:
        """Image size (w, h) the intrinsics are for, given a video of ``width`` x ``height``."""
        if self.size is not None:
            return self.size
        long, short = NERSEMBLE_FULL_SIZE
        cand = (long, short) if width >= height else (short, long)
        if abs(width / height - cand[0] / cand[1]) > 0.02:
            raise GaspInputError(str(self.path), f"no 'resolution' key and a {width}x{height} video is not a "
                                                 f"downscaled {long}x{short} NeRSemble frame; add \"resolution\"")
        return cand

    def intrinsics(self, serial: str, width: int, height: int) -> np.ndarray:
        """K [3, 3] for images of ``width`` x ``height`` (scaled from the calibration resolution)."""
        if serial not in self.K:
            raise GaspInputError(str(self.path), f"camera {serial} is not calibrated (no intrinsics)")
        cw, ch = self.calibration_size(width, height)
        return scale_intrinsics(self.K[serial], width / cw, height / ch)

    def extrinsics(self, serial: str) -> np.ndarray:
        if serial not in self.world_to_cam:
            raise GaspInputError(str(self.path), f"camera {serial} is missing from 'world_2_cam'")
        return self.world_to_cam[serial]


def scale_intrinsics(K: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """K [3, 3] for an image resized by (sx, sy): pixel centres at (j + 0.5) stay consistent (u' = sx * u)."""
    K = np.array(K, dtype=np.float64)
    K[0, :] *= sx
    K[1, :] *= sy
    K[2, :] = (0.0, 0.0, 1.0)
    return K


def load_calibration(path: str | os.PathLike) -> Calibration:
    """Read ``camera_params.json`` (see module docstring); one-line ``GaspInputError`` naming the file on problems."""
    path = Path(path)
    data = _load_json(path)
    if "world_2_cam" not in data or not isinstance(data["world_2_cam"], dict) or not data["world_2_cam"]:
        raise GaspInputError(str(path), "missing or empty 'world_2_cam' (serial -> 4x4)")
    w2c = {str(s): _matrix(path, f"world_2_cam[{s}]", m, ((4, 4),)) for s, m in data["world_2_cam"].items()}
    for s, m in w2c.items():
        R = m[:3, :3]
        if np.abs(R @ R.T - np.eye(3)).max() > 1e-3 or abs(np.linalg.det(R) - 1) > 1e-3:
            raise GaspInputError(str(path), f"world_2_cam[{s}]: rotation part is not a rotation")
    intr = data.get("intrinsics")
    if intr is None:
        raise GaspInputError(str(path), "missing 'intrinsics'")
    if isinstance(intr, dict):
        K = {str(s): _matrix(path, f"intrinsics[{s}]", m, ((3, 3),)) for s, m in intr.items()}
    else:
        shared = _matrix(path, "intrinsics", intr, ((3, 3),))
        K = {s: shared for s in w2c}
    for s, k in K.items():
        if k[0, 0] <= 0 or k[1, 1] <= 0:
            raise GaspInputError(str(path), f"intrinsics[{s}]: focal lengths must be positive")
    size = data.get("resolution")
    if size is not None:
        try:
            size = (int(size[0]), int(size[1]))
        except (TypeError, ValueError, IndexError):
            raise GaspInputError(str(path), f"'resolution' must be [width, height], got {size!r}") from None
    return Calibration(path=path, world_to_cam=w2c, K=K, size=size)


def load_colour_calibration(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """``color_calibration.json`` -> serial -> [3, 4] float64 (3x3 entries get a zero offset column)."""
    path = Path(path)
    data = _load_json(path)
    out = {}
    for s, m in data.items():
        m = _matrix(path, f"[{s}]", m, ((3, 3), (3, 4)))
        out[str(s)] = m if m.shape == (3, 4) else np.concatenate([m, np.zeros((3, 1))], 1)
    return out


def apply_colour_correction(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """uint8 RGB [..., H, W, 3] -> colour-corrected uint8 (``rgb' = A rgb + b`` in [0, 1], clipped)."""
    x = image.astype(np.float32) / 255.0
    y = x @ matrix[:, :3].T.astype(np.float32) + matrix[:, 3].astype(np.float32)
    return (np.clip(y, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def angle_between_cameras(w2c_a: np.ndarray, w2c_b: np.ndarray) -> float:
    """Angle (degrees) between the viewing directions (+z axes) of two world->camera matrices [4, 4]."""
    za, zb = w2c_a[2, :3], w2c_b[2, :3]
    c = float(np.clip(za @ zb / (np.linalg.norm(za) * np.linalg.norm(zb)), -1.0, 1.0))
    return math.degrees(math.acos(c))
