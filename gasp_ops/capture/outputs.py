"""Writing one tracked, matted sequence to disk (PNG frames, mattes, masks, overlays, tracking tensors, rows).

Layout under ``seq_dir``: images/{camera}/{frame:05d}.png, mattes/..., masks/..., overlays/{camera}.png (first
frame), tracking.safetensors (identity [1, n_id], expression [T, E], rotation / translation / neck / jaw [T, 3],
eyes [T, 6], rotation_matrices [T, 3, 3], scale [1, 1], frames [T]; metadata: head model, seed, stages) and
tracking.npz (the same keys in the NeRSemble benchmark format, see ``benchmark``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from gasp_ops.cameras import Cameras
from gasp_ops.capture.benchmark import save_tracking_npz
from gasp_ops.capture.frame_table import flat
from gasp_ops.capture.head_mask import head_mask
from gasp_ops.capture.overlay import mesh_overlay
from gasp_ops.capture.tracking import TrackingResult
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.io.images import save_png
from gasp_ops.io.tensors import save_tensors
from gasp_ops.rotations import axis_angle_to_matrix


def tracking_tensors(res: TrackingResult, frames: list[int]) -> dict[str, torch.Tensor]:
    p = res.pose
    return {"shape": res.identity[None], "expression": res.expression, "rotation": p.rotation,
            "rotation_matrices": axis_angle_to_matrix(p.rotation), "translation": p.translation, "neck": p.neck,
            "jaw": p.jaw, "eyes": p.eyes, "scale": torch.ones(1, 1), "frames": torch.tensor(frames, dtype=torch.int64)}


def write_sequence(seq_dir: Path, rel: Path, head: HeadModel, res: TrackingResult, images: np.ndarray,
                   mattes: np.ndarray, cameras: Cameras, camera_names: list[str], frames: list[int],
                   common: dict) -> tuple[list[dict], list[np.ndarray]]:
    """Write everything of one sequence; returns (frame-table rows, overlay images). images [T, C, H, W, 3]."""
    T, C, H, W = images.shape[:4]
    rows, overlays = [], []
    tens = tracking_tensors(res, frames)
    save_tensors(seq_dir / "tracking.safetensors", tens, {"head_model": head.name, "seed": res.seed,
                                                           "stages": res.stages})
    save_tracking_npz(seq_dir / "tracking.npz", {k: v.detach().cpu().numpy() for k, v in tens.items()})
    err = res.landmark_error_px()
    for c, name in enumerate(camera_names):
        cam = cameras[c]
        for t, f in enumerate(frames):
            mask = head_mask(mattes[t, c], head, res.vertices[t], cam)
            paths = {k: Path(k) / name / f"{f:05d}.png" for k in ("images", "mattes", "masks")}
            save_png(seq_dir / paths["images"], images[t, c])
            save_png(seq_dir / paths["mattes"], mattes[t, c][..., None])
            save_png(seq_dir / paths["masks"], mask.astype(np.uint8)[..., None] * 255)
            det = res.detected[t, c]
            has = bool(torch.isfinite(det).all())
            if t == 0:
                ov = mesh_overlay(images[t, c], head, res.vertices[t], cam, det.numpy() if has else None)
                save_png(seq_dir / "overlays" / f"{name}.png", ov)
                overlays.append(ov)
            rows.append({**common, "camera": name, "frame": int(f), "width": W, "height": H,
                         "K": flat(cam.K[0]), "world_to_cam": flat(cam.world_to_cam[0]),
                         "image_path": str(rel / paths["images"]), "matte_path": str(rel / paths["mattes"]),
                         "mask_path": str(rel / paths["masks"]), "head_model": head.name,
                         "identity": flat(res.identity), "expression": flat(res.expression[t]),
                         "rotation": flat(res.pose.rotation[t]), "translation": flat(res.pose.translation[t]),
                         "neck": flat(res.pose.neck[t]), "jaw": flat(res.pose.jaw[t]), "eyes": flat(res.pose.eyes[t]),
                         "landmarks_detected": flat(det) if has else [],
                         "landmarks_tracked": flat(res.landmarks_2d[t, c]),
                         "landmark_error_px": float(err[t, c]) if has else float("nan"),
                         "matte_coverage": float((mattes[t, c] > 0.5).mean()),
                         "mask_coverage": float(mask.mean()), "tracking_seed": res.seed,
                         "tracking_stages": ";".join(res.stages)})
    return rows, overlays
