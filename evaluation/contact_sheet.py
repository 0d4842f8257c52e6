"""Contact sheets of the method comparison (GASP Figs. 4-5 style): ground truth vs each method on held-out cameras."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

#: Column titles short enough for one tile (the table names are the long "-style (ours)" ones).
SHORT = {"GASP (ours)": "GASP (ours)", "gaussian_avatars-style (ours)": "GaussianAvatars-style",
         "flash_avatar-style (ours)": "FlashAvatar-style"}


def _upscale(img: torch.Tensor, side: int) -> np.ndarray:
    """[H, W, 3] in [0, 1] -> nearest-upscaled by an integer factor so the short side is >= ``side``."""
    k = max(1, -(-side // min(img.shape[:2])))
    x = F.interpolate(img.permute(2, 0, 1)[None].float(), scale_factor=k, mode="nearest")[0]
    return x.permute(1, 2, 0).clamp(0, 1).numpy()


def pick_frames(labels: list, frontalness: list, max_cameras: int) -> list[int]:
    """Indices of one frame (the first) per evaluation camera, least frontal cameras first, at most ``max_cameras``
    (the protocol's 4 test cameras are the ones at the largest angle to the frontal camera)."""
    first: dict[str, int] = {}
    for i, label in enumerate(labels):
        parts = str(label).split("/")
        cam = parts[-2] if len(parts) >= 2 else parts[0]
        first.setdefault(cam, i)
    return sorted(first.values(), key=lambda i: (frontalness[i], labels[i]))[:max_cameras]


def comparison_sheet(comp, max_cameras: int = 4, tile: int = 144, title: str = "") -> np.ndarray:
    """uint8 sheet: rows = evaluation cameras (``pick_frames``), columns = ground truth then each method; an
    optional title line above."""
    from gasp_ops.viz.contact_sheet import contact_sheet

    picks = pick_frames(comp.labels, comp.frontalness, max_cameras)
    methods = list(comp.renders)
    rows = [[_upscale(comp.ground_truth[i], tile)] + [_upscale(comp.renders[m][i], tile) for m in methods]
            for i in picks]
    row_labels = [str(comp.labels[i]).split("/")[-2] if "/" in str(comp.labels[i]) else str(comp.labels[i])
                  for i in picks]
    sheet = contact_sheet(rows, row_labels=row_labels, col_labels=["ground truth"] + [SHORT.get(m, m) for m in methods])
    return with_title(sheet, title) if title else sheet


def with_title(sheet: np.ndarray, title: str, height: int = 16) -> np.ndarray:
    """``sheet`` with a white strip of ``height`` px holding ``title`` above it."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (sheet.shape[1], sheet.shape[0] + height), (255, 255, 255))
    img.paste(Image.fromarray(np.ascontiguousarray(sheet[..., :3])), (0, height))
    ImageDraw.Draw(img).text((4, 2), title, fill=(0, 0, 0))
    return np.asarray(img)


def stack_sheets(sheets: list[np.ndarray], pad: int = 6) -> np.ndarray:
    """Sheets of any widths stacked vertically on white (left-aligned)."""
    width = max(s.shape[1] for s in sheets)
    out = []
    for s in sheets:
        canvas = np.full((s.shape[0] + pad, width, 3), 255, np.uint8)
        canvas[: s.shape[0], : s.shape[1]] = s[..., :3]
        out.append(canvas)
    return np.concatenate(out, 0)
