"""``write_nersemble_v2_subject``: a synthetic subject (``gasp_ops.synthetic``, ``real_proxy`` look) written in the
NeRSemble v2 layout (mp4 per camera, calibration JSONs, background plates), plus the benchmark-layout extras
(alpha-map videos and a tracking ``.npz`` with the true parameters) so readers and trackers can be checked.

The world frame is not head space: ``world_from_head`` (default: 12 degrees about +y, 0.05 / 0.10 / 0.20 m shift)
moves the rig, and the true poses are re-expressed in it (``rigid.pose_in_world``). Images get a per-camera colour
distortion ``rgb' = D rgb + e``; ``color_calibration.json`` holds its inverse.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from gasp_ops.capture.benchmark import alpha_map_path, save_tracking_npz, tracking_path
from gasp_ops.capture.nersemble import subject_dir
from gasp_ops.capture.rigid import pose_in_world, root_joints
from gasp_ops.capture.video import write_video
from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.headmodel.pose import HeadPose
from gasp_ops.io.atomic import atomic_path, write_text_atomic
from gasp_ops.rotations import axis_angle_to_matrix
from gasp_ops.seeding import generator

#: Four NeRSemble serials (front, two sides, one from above) and where the synthetic rig puts them (az, el deg).
DEFAULT_RIG: dict[str, tuple[float, float]] = {
    "222200037": (0.0, 4.0), "222200046": (42.0, 2.0), "222200039": (-42.0, 0.0), "220700191": (14.0, 26.0),
}


@dataclass
class WrittenSubject:
    """What was written: the subject folder, serials, sequences, frame count, and the true per-sequence tracking
    (benchmark keys, world frame) and cameras (``Cameras`` at the written image size)."""

    root: Path
    subject: int
    serials: list[str]
    sequences: list[str]
    num_frames: int
    truth: dict = field(default_factory=dict)
    cameras: object = None


def default_world_from_head() -> torch.Tensor:
    a = math.radians(12.0)
    M = torch.eye(4)
    M[:3, :3] = torch.tensor([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    M[:3, 3] = torch.tensor([0.05, 0.10, 0.20])
    return M


def studio_background(g: torch.Generator, size: int) -> torch.Tensor:
    """A smooth, mildly textured studio backdrop [size, size, 3] in [0, 1]."""
    import torch.nn.functional as F

    base = torch.tensor([0.36, 0.40, 0.45]) + 0.08 * (torch.rand(3, generator=g) - 0.5)
    coarse = 0.10 * (torch.rand(1, 3, 5, 5, generator=g) - 0.5)
    fine = 0.03 * (torch.rand(1, 3, 24, 24, generator=g) - 0.5)
    img = base[:, None, None] + F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)[0]
    img = img + F.interpolate(fine, size=(size, size), mode="bilinear", align_corners=False)[0]
    ramp = torch.linspace(0.05, -0.05, size)[:, None]
    return (img + ramp).clamp(0, 1).permute(1, 2, 0).contiguous()


def _trajectory(head: HeadModel, n: int, seed: int, index: int) -> tuple[torch.Tensor, HeadPose]:
    """Smooth per-frame expressions [n, E] and poses (head space): blends of two sampled key frames."""
    from gasp_ops.synthetic import sample_expressions

    keys_e, keys_p = sample_expressions([2 * index, 2 * index + 1], seed, head)
    w = torch.linspace(0.0, 1.0, n)[:, None]
    w = 0.5 - 0.5 * torch.cos(math.pi * w)
    expr = (1 - w) * keys_e[0] + w * keys_e[1]
    kp = keys_p.as_dict()
    pose = HeadPose(**{k: (1 - w) * v[0] + w * v[1] for k, v in kp.items()})
    return expr, pose


def _to_uint8(x: torch.Tensor) -> np.ndarray:
    return (x.clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).cpu().numpy()


def write_nersemble_v2_subject(root: str | os.PathLike, subject: int = 900, *, head: HeadModel | None = None,
                               rig: dict[str, tuple[float, float]] | None = None, image_size: int = 224,
                               num_frames: int = 6, sequences=("EMO-1-shout+laugh",), seed: int = 0,
                               identity_index: int = 0, overrides: dict | None = None, texture_size: int = 128,
                               supersample: int = 3, world_from_head: torch.Tensor | None = None,
                               fov_deg: float = 18.0, colour_distortion: bool = True) -> WrittenSubject:
    """Write subject ``{subject:03d}`` under ``root`` (see module docstring) and return its ground truth.

    rig: serial -> (azimuth, elevation) degrees around the head (default ``DEFAULT_RIG``); image_size: square
    frames; num_frames per sequence; overrides: ``sample_identity`` overrides (default short hair, no beard, so
    the face is visible). Every file is written atomically; a subject folder is complete once
    ``calibration/camera_params.json`` exists (written last).
    """
    from gasp_ops.synthetic import build_assets, fixed_cameras, render_views, sample_identity
    from gasp_ops.synthetic.lighting import camera_effects, sample_look

    if head is None:
        from gasp_ops.headmodel.procedural import ProceduralHead

        head = ProceduralHead()
    rig = dict(rig or DEFAULT_RIG)
    if not rig:
        raise GaspInputError("rig", "need at least one camera")
    serials = list(rig)
    M = default_world_from_head() if world_from_head is None else torch.as_tensor(world_from_head, dtype=torch.float32)
    d = subject_dir(root, subject)
    overrides = {"hairstyle": "short", "facial_hair": "none"} if overrides is None else overrides
    ident = sample_identity(identity_index, seed, head, domain="real_proxy", overrides=overrides)
    assets = build_assets(head, ident, texture_size)
    az = [rig[s][0] for s in serials]
    el = [rig[s][1] for s in serials]
    cams_head = fixed_cameras(az, el, image_size, head=head, fov_deg=fov_deg)
    # head space -> world: cameras move with the inverse map.
    w2c = cams_head.world_to_cam @ torch.linalg.inv(M)[None]
    from gasp_ops.cameras import Cameras

    cams_world = Cameras(w2c, cams_head.K.clone(), image_size, image_size)
    C = len(serials)
    g = generator(seed, "nersemble_writer", subject)
    backgrounds = torch.stack([studio_background(g, image_size) for _ in serials])  # [C, S, S, 3]
    gains = 1.0 + 0.06 * (torch.rand(C, 3, generator=g) - 0.5) if colour_distortion else torch.ones(C, 3)
    offsets = 0.02 * (torch.rand(C, 3, generator=g) - 0.5) if colour_distortion else torch.zeros(C, 3)

    def distort(img: torch.Tensor) -> torch.Tensor:  # [C, H, W, 3]
        return img * gains[:, None, None, :] + offsets[:, None, None, :]

    look = sample_look(seed, ident.seed, ident.index)
    plates = camera_effects(backgrounds, look, generator(seed, "plate", subject))
    plates = distort(plates)
    for c, s in enumerate(serials):
        import cv2

        with atomic_path(d / "sequences" / "BACKGROUND" / f"image_{s}.jpg", suffix=".jpg") as tmp:
            cv2.imwrite(str(tmp), cv2.cvtColor(_to_uint8(plates[c]), cv2.COLOR_RGB2BGR),
                        [cv2.IMWRITE_JPEG_QUALITY, 97])
    truth = {}
    for q, seq in enumerate(sequences):
        expr, pose_h = _trajectory(head, num_frames, seed + 7919 * subject, q)
        rgb = torch.zeros(num_frames, C, image_size, image_size, 3)
        alpha = torch.zeros(num_frames, C, image_size, image_size)
        for t in range(num_frames):
            pt = HeadPose(**{k: v[t:t + 1].expand(C, -1) for k, v in pose_h.as_dict().items()})
            views = render_views(head, ident, expr[t:t + 1].expand(C, -1), pt, cams_head, domain="real_proxy",
                                 supersample=supersample, assets=assets, background=backgrounds, seed=seed)
            rgb[t] = distort(views.rgb)
            alpha[t] = views.alpha
        for c, s in enumerate(serials):
            write_video(d / "sequences" / seq / "images" / f"cam_{s}.mp4", _to_uint8(rgb[:, c]))
            write_video(alpha_map_path(d, seq, s), _to_uint8(alpha[:, c, ..., None].expand(-1, -1, -1, 3)))
        identity = ident.identity[None].expand(num_frames, -1).to(torch.float32)
        with torch.no_grad():
            root_j = root_joints(head, identity, expr)
        pw = pose_in_world(pose_h, root_j, M)
        tr = {"shape": ident.identity[None].numpy(), "expression": expr.numpy(), "rotation": pw.rotation.numpy(),
              "rotation_matrices": axis_angle_to_matrix(pw.rotation).numpy(), "translation": pw.translation.numpy(),
              "jaw": pw.jaw.numpy(), "neck": pw.neck.numpy(), "eyes": pw.eyes.numpy(),
              "scale": np.ones((1, 1), np.float32), "frames": np.arange(num_frames)}
        save_tracking_npz(tracking_path(d, seq), tr)
        truth[seq] = tr
    colour = {s: np.concatenate([np.diag(1.0 / gains[c].numpy()), (-offsets[c] / gains[c]).numpy()[:, None]], 1)
              for c, s in enumerate(serials)}
    write_text_atomic(d / "calibration" / "color_calibration.json",
                      json.dumps({s: m.tolist() for s, m in colour.items()}, indent=1))
    params = {"world_2_cam": {s: w2c[c].tolist() for c, s in enumerate(serials)},
              "intrinsics": {s: cams_world.K[c].tolist() for c, s in enumerate(serials)},
              "resolution": [image_size, image_size]}
    write_text_atomic(d / "calibration" / "camera_params.json", json.dumps(params, indent=1))
    return WrittenSubject(root=d, subject=int(subject), serials=serials, sequences=list(sequences),
                          num_frames=num_frames, truth=truth, cameras=cams_world)
