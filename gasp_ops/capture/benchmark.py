"""NeRSemble benchmark layout: per-sequence alpha-map videos and 3DMM tracking ``.npz`` files.

The public NeRSemble benchmark toolkit (tobias-kirschstein/nersemble-benchmark, read only) stores, per subject::

    {id:03d}/calibration/camera_params.json                        (as NeRSemble v2, intrinsics per serial)
    {id:03d}/sequences/{SEQUENCE}/images/cam_{serial}.mp4
    {id:03d}/sequences/{SEQUENCE}/alpha_maps/cam_{serial}.mp4      alpha in the first channel, 0..255
    {id:03d}/sequences/{SEQUENCE}/tracking/flame2023_tracking.npz  one NumPy .npz per sequence

Tracking ``.npz`` keys and shapes (T tracked frames; FLAME 2023 has 300 shape / 100 expression components; files
written by this project for another head model have that model's sizes):

    shape [1, n_identity], expression [T, n_expression], rotation [T, 3] (axis-angle), rotation_matrices
    [T, 3, 3], translation [T, 3], jaw [T, 3], neck [T, 3], eyes [T, 6], scale [1, 1], frames [T] (int: the
    video frame index of each row).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from gasp_ops.capture.video import read_video
from gasp_ops.errors import GaspInputError
from gasp_ops.io.atomic import atomic_path

TRACKING_FILE = "flame2023_tracking.npz"
TRACKING_KEYS = ("shape", "expression", "rotation", "rotation_matrices", "translation", "jaw", "neck", "eyes",
                 "scale", "frames")


def alpha_map_path(subject_root: str | os.PathLike, sequence: str, serial: str) -> Path:
    return Path(subject_root) / "sequences" / sequence / "alpha_maps" / f"cam_{serial}.mp4"


def tracking_path(subject_root: str | os.PathLike, sequence: str) -> Path:
    return Path(subject_root) / "sequences" / sequence / "tracking" / TRACKING_FILE


def load_alpha_maps(path: str | os.PathLike, frames=None) -> np.ndarray:
    """Alpha maps [T, H, W] float32 in [0, 1] from a benchmark alpha video (first channel)."""
    return read_video(path, frames)[..., 0].astype(np.float32) / 255.0


def validate_tracking(data: dict, name: str) -> dict[str, np.ndarray]:
    """Check keys and shapes of a tracking dict (see module docstring); returns float32 / int64 arrays."""
    missing = [k for k in TRACKING_KEYS if k not in data]
    if missing:
        raise GaspInputError(name, f"tracking is missing key(s) {', '.join(missing)}")
    out = {k: np.asarray(data[k]) for k in TRACKING_KEYS}
    T = out["expression"].shape[0] if out["expression"].ndim == 2 else -1
    expect = {"shape": (1, None), "expression": (T, None), "rotation": (T, 3), "rotation_matrices": (T, 3, 3),
              "translation": (T, 3), "jaw": (T, 3), "neck": (T, 3), "eyes": (T, 6), "scale": (1, 1), "frames": (T,)}
    for k, shp in expect.items():
        a = out[k]
        if a.ndim != len(shp) or any(s is not None and s != d for s, d in zip(shp, a.shape)):
            raise GaspInputError(name, f"tracking key {k!r}: expected shape {shp} (None = any), got {a.shape}")
        if k != "frames" and not np.isfinite(a).all():
            raise GaspInputError(name, f"tracking key {k!r}: contains NaN/Inf")
        out[k] = a.astype(np.int64) if k == "frames" else a.astype(np.float32)
    return out


def load_tracking_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a benchmark tracking ``.npz`` (no pickle)."""
    path = Path(path)
    if not path.is_file():
        raise GaspInputError(str(path), "tracking file not found")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (ValueError, OSError) as exc:
        raise GaspInputError(str(path), f"not a readable .npz ({str(exc).splitlines()[0]})") from None
    return validate_tracking(data, str(path))


def save_tracking_npz(path: str | os.PathLike, tracking: dict) -> Path:
    """Write a tracking dict (validated) as an uncompressed ``.npz``, atomically."""
    data = validate_tracking(tracking, str(path))
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **data)
    return Path(path)
