"""Run config shared by the evaluation assets that fit and score avatars (Tab. 1-3)."""

from typing import Optional

import dagster as dg


class FitBudgetConfig(dg.Config):
    """steps_inversion / steps_decoder / steps_refine: override the preset's stage lengths. image_size: resize
    frames. max_train_frames / max_eval_frames: cap the frames. metrics: which of psnr, ssim, lpips, fid, id_sim
    to compute. seed: fitting seed."""

    steps_inversion: Optional[int] = None
    steps_decoder: Optional[int] = None
    steps_refine: Optional[int] = None
    image_size: Optional[int] = None
    max_train_frames: Optional[int] = None
    max_eval_frames: int = 16
    metrics: list[str] = ["psnr", "ssim", "lpips", "fid", "id_sim"]
    seed: int = 0
