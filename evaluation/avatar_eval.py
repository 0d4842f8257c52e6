"""Render a fitted avatar for held-out frames and score them (GASP §6 protocol: metrics on the head region)."""

from __future__ import annotations

import pandas as pd
import torch

from evaluation.metrics import METRICS, evaluate_frames


def heldout_table(table: pd.DataFrame, setting: str) -> pd.DataFrame:
    """Frames whose camera is not one of the setting's training cameras (all frames when every camera trains)."""
    from gasp_ops.fitting import select_setting

    train = set(select_setting(table, setting)["camera"].astype(str))
    held = table[~table["camera"].astype(str).isin(train)]
    return held if not held.empty else table


@torch.no_grad()
def render_inputs(avatar, identity: torch.Tensor, head, inputs, device="cpu") -> list[torch.Tensor]:
    """[H, W, 3] renders of ``avatar`` for every frame of ``inputs`` (posed by the 3DMM).

    avatar: a ``GaussianAvatar``, or any object with ``world_gaussians(vertices [1, V, 3], expressions [1, E],
    poses)`` -> ``Gaussians3D`` (avatars whose Gaussians depend on the frame's expression, e.g. the
    flash_avatar-style baseline)."""
    from gasp_ops.render.render import render
    from gasp_ops.runtime import FastPoser

    animated = hasattr(avatar, "world_gaussians")
    # The numba posing kernel's OpenMP start-up resets torch's intra-op thread count (measured: 1 -> 2); restore
    # it, or every later torch op of this process (e.g. the next fit) oversubscribes a small machine (~3x slower).
    threads = torch.get_num_threads()
    try:
        if animated:
            avatar = avatar.to(device)
        else:
            poser = FastPoser(avatar, device=device)
        head = head.to(device)
        out = []
        for i in range(len(inputs)):
            sub = inputs.subset([i]).to(device)
            verts = head(identity[None].to(device), sub.expressions, sub.poses)
            g = avatar.world_gaussians(verts, sub.expressions, sub.poses) if animated else poser(verts)
            out.append(render(g, sub.cameras).rgb[0].clamp(0, 1).cpu())
    finally:
        torch.set_num_threads(threads)
    return out


def evaluate_avatar(avatar, identity, head, inputs, *, subject: str, setting: str, method: str,
                    metrics=METRICS, embedder=None, device="cpu") -> tuple[pd.DataFrame, list]:
    """(metric rows, renders) of one avatar on ``inputs`` (held-out frames); ground truth = image x matte over
    black, the head region = the matte."""
    preds = render_inputs(avatar, identity, head, inputs, device=device)
    gts = [(inputs.images[i] * inputs.mattes[i, ..., None]).cpu() for i in range(len(inputs))]
    masks = [inputs.mattes[i].cpu() for i in range(len(inputs))]
    keys = []
    for i, label in enumerate(inputs.labels):
        parts = str(label).split("/")  # sequence/camera/frame (frame tables) or camera/frame
        cam = parts[-2] if len(parts) >= 2 else parts[0]
        frame = int(parts[-1]) if parts[-1].isdigit() else i
        keys.append({"subject": subject, "setting": setting, "method": method, "camera": cam, "frame": frame})
    rows = evaluate_frames(preds, gts, masks, keys, metrics=metrics, embedder=embedder)
    return rows, preds
