"""Videos of an avatar (GASP Appendix A): a 360-degree turntable and re-enactment driven by 3DMM parameters
(self: the subject's own expression/pose sequence; cross-identity: another person's sequence on this avatar's
identity). H.264 (libx264, yuv420p) mp4 via PyAV, written atomically; frames are uint8 [T, H, W, 3].
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from gasp_ops.cameras import Cameras, orbit_cameras
from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.pose import HeadPose
from gasp_ops.io.video import write_mp4
from gasp_ops.render.render import render
from gasp_ops.runtime.posing import FastPoser


def head_orbit(head, azimuths_deg, elevation_deg: float, image_size: int, fov_deg: float = 18.0,
               head_fraction: float = 0.68) -> Cameras:
    """Cameras around the head model's rest head (framing of ``gasp_ops.synthetic.cameras.head_framing``)."""
    from gasp_ops.synthetic.cameras import head_framing

    az = torch.as_tensor(azimuths_deg, dtype=torch.float32).reshape(-1)
    target, height = head_framing(head)
    distance = 0.5 * height / head_fraction / math.tan(math.radians(fov_deg) / 2)
    return orbit_cameras(az, torch.full_like(az, float(elevation_deg)), distance, fov_deg, image_size, image_size,
                         target=target)


@torch.no_grad()
def render_frames(avatar, head, identity: torch.Tensor, expressions: torch.Tensor, poses: HeadPose | None,
                  cameras: Cameras, background=(1.0, 1.0, 1.0), chunk: int = 8, device=None) -> np.ndarray:
    """uint8 frames [T, H, W, 3]: frame t = the avatar with expression t [T, E] and pose t (``HeadPose`` batch T,
    or None = rest) seen by camera t (``cameras`` with T entries, or 1 shared), over ``background`` (RGB).
    The avatar and the parameters are range-checked first (``gasp_ops.plausible``)."""
    from gasp_ops.plausible import check_3dmm_ranges, check_avatar_ranges

    check_avatar_ranges(avatar)
    check_3dmm_ranges("render", expressions, poses, identity)
    dev = torch.device(device) if device is not None else head.template.device
    head = head.to(dev)
    T = expressions.shape[0]
    if len(cameras) not in (1, T):
        raise GaspInputError("cameras", f"need 1 or {T} cameras, got {len(cameras)}")
    poser = FastPoser(avatar, device=dev)
    bg = torch.as_tensor(background, dtype=torch.float32, device=dev)
    ident = identity.reshape(1, -1).float().to(dev)
    out = []
    for s in range(0, T, chunk):
        e = expressions[s:s + chunk].float().to(dev)
        b = e.shape[0]
        p = None if poses is None else poses[s:s + b].to(dev, torch.float32)
        verts = head(ident.expand(b, -1), e, p)
        cams = cameras[s:s + b] if len(cameras) == T else Cameras(cameras.world_to_cam.expand(b, 4, 4),
                                                                  cameras.K.expand(b, 3, 3), cameras.width, cameras.height)
        img = render(poser(verts), cams.to(dev), bg).rgb
        out.append((img.clamp(0, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy())
    return np.concatenate(out)


def render_turntable(avatar, head, identity: torch.Tensor, n_frames: int = 90, image_size: int = 256,
                     elevation_deg: float = 5.0, expression: torch.Tensor | None = None, **kw) -> np.ndarray:
    """uint8 [n_frames, S, S, 3]: a full 360-degree orbit (azimuth 0 = front) at a fixed expression (neutral)."""
    az = torch.arange(n_frames, dtype=torch.float32) * (360.0 / n_frames)
    cams = head_orbit(head, az, elevation_deg, image_size)
    e = torch.zeros(n_frames, head.n_expression) if expression is None else expression.reshape(1, -1).expand(n_frames, -1)
    return render_frames(avatar, head, identity, e, None, cams, **kw)


def turntable_strip(avatar, head, identity: torch.Tensor, azimuths=(0.0, 90.0, 180.0, 270.0), image_size: int = 128,
                    **kw) -> np.ndarray:
    """uint8 [S, len(azimuths) * S, 3]: the avatar from a few azimuths side by side."""
    cams = head_orbit(head, azimuths, 5.0, image_size)
    frames = render_frames(avatar, head, identity, torch.zeros(len(azimuths), head.n_expression), None, cams, **kw)
    return np.concatenate(list(frames), axis=1)


def render_reenactment(avatar, head, identity: torch.Tensor, expressions: torch.Tensor, poses: HeadPose | None,
                       camera: Cameras | None = None, image_size: int = 256, **kw) -> np.ndarray:
    """Drive the avatar with a 3DMM sequence (expressions [T, E], poses batch T) from ``camera`` (1 or T entries;
    default a frontal camera). Cross-identity re-enactment = another subject's sequence with this avatar's
    ``identity``."""
    cams = camera if camera is not None else head_orbit(head, [0.0], 5.0, image_size)
    return render_frames(avatar, head, identity, expressions, poses, cams, **kw)


def write_turntable_mp4(path, avatar, head, identity, n_frames: int = 90, image_size: int = 256, fps: int = 30,
                        **kw) -> Path:
    return write_mp4(path, render_turntable(avatar, head, identity, n_frames, image_size, **kw), fps)


def write_reenactment_mp4(path, avatar, head, identity, expressions, poses, camera=None, image_size: int = 256,
                          fps: int = 30, **kw) -> Path:
    return write_mp4(path, render_reenactment(avatar, head, identity, expressions, poses, camera, image_size, **kw), fps)
