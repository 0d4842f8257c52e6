"""``rvm`` matting: a user's RobustVideoMatting TorchScript file (no weights ship with this project).

Call signature expected (that of RVM's exported TorchScript models)::

    fgr, pha, r1, r2, r3, r4 = model(src, r1, r2, r3, r4, downsample_ratio)

src [B, 3, H, W] float in [0, 1]; r1..r4 recurrent states (None on the first frame); pha [B, 1, H, W] alpha.
Frames go through one at a time so the recurrent state carries across a video.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from gasp_ops.errors import GaspInputError


def load_rvm(path: str | os.PathLike, device: str | torch.device = "cpu") -> torch.jit.ScriptModule:
    path = Path(path)
    if not path.is_file():
        raise GaspInputError(str(path), "RobustVideoMatting TorchScript file not found")
    try:
        model = torch.jit.load(str(path), map_location=device)
    except (RuntimeError, ValueError) as exc:
        raise GaspInputError(str(path), f"not a TorchScript model ({str(exc).splitlines()[0]})") from None
    return model.eval()


def auto_downsample_ratio(height: int, width: int) -> float:
    """RVM's advice: process at about 512 px on the long side."""
    return min(512.0 / max(height, width), 1.0)


@torch.no_grad()
def rvm_mattes(model, frames: np.ndarray, downsample_ratio: float | None = None,
               device: str | torch.device = "cpu") -> np.ndarray:
    """Alpha [T, H, W] float32 for uint8 RGB video frames [T, H, W, 3] (recurrent state kept across frames)."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise GaspInputError("frames", f"expected [T, H, W, 3], got {list(frames.shape)}")
    T, H, W, _ = frames.shape
    ratio = float(downsample_ratio if downsample_ratio is not None else auto_downsample_ratio(H, W))
    rec = [None, None, None, None]
    out = np.zeros((T, H, W), np.float32)
    for t in range(T):
        src = torch.from_numpy(np.ascontiguousarray(frames[t])).to(device).permute(2, 0, 1)[None].float() / 255.0
        try:
            result = model(src, *rec, ratio)
        except RuntimeError as exc:
            raise GaspInputError("rvm_model", f"call failed; expected RVM's signature ({str(exc).splitlines()[0]})") from None
        if len(result) != 6:
            raise GaspInputError("rvm_model", f"expected 6 outputs (fgr, pha, r1..r4), got {len(result)}")
        pha = result[1]
        rec = list(result[2:])
        if tuple(pha.shape) != (1, 1, H, W):
            raise GaspInputError("rvm_model", f"alpha output has shape {list(pha.shape)}, expected [1, 1, {H}, {W}]")
        out[t] = pha[0, 0].clamp(0, 1).float().cpu().numpy()
    return out
