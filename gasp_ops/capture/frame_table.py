"""The per-frame table (one row per frame and camera), the same for NeRSemble and phone/webcam captures.

Columns: source ('nersemble' | 'capture'), subject, sequence, camera (serial or 'phone'), frame (video index),
width, height, K (9 floats, row-major), world_to_cam (16 floats), image_path, matte_path, mask_path (relative to
the table's folder), head_model, identity (n_identity floats), expression (E floats), rotation, translation,
neck, jaw (3 floats each), eyes (6), landmarks_detected (136 floats or empty: no detection), landmarks_tracked
(136), landmark_error_px (NaN without detection), matte_coverage (fraction of the frame), mask_coverage,
tracking_seed ('landmarks' | 'default_pose'), tracking_stages (';'-joined).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ("source", "subject", "sequence", "camera", "frame", "width", "height", "K", "world_to_cam", "image_path",
           "matte_path", "mask_path", "head_model", "identity", "expression", "rotation", "translation", "neck", "jaw",
           "eyes", "landmarks_detected", "landmarks_tracked", "landmark_error_px", "matte_coverage", "mask_coverage",
           "tracking_seed", "tracking_stages")


def flat(x) -> list[float]:
    a = x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
    return [float(v) for v in np.asarray(a, np.float64).ravel()]


def make_table(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    missing = [c for c in COLUMNS if c not in frame]
    if missing:
        raise ValueError(f"frame table rows lack {missing}")
    return frame[list(COLUMNS)]
