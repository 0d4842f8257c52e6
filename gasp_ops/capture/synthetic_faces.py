"""Held-out synthetic face photos with exact annotations, for measuring mattes and landmarks (and for tests).

``render_face_photos`` renders ``real_proxy`` people (``gasp_ops.synthetic``: the domain the prior never trains on)
from near-frontal cameras and returns uint8 photos with their exact alpha (hair, clothing and neck included) and
the exact image positions of the head model's iBUG-68 landmark embedding. Backgrounds: ``"clutter"`` (random crops
of busy scikit-image pictures: coffee, chelsea, rocket, hubble_deep_field, immunohistochemistry, coins) or
``"grey"`` (the renderer's flat grey).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gasp_ops.errors import GaspInputError
from gasp_ops.seeding import generator

CLUTTER = ("coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "coins")


@dataclass
class FacePhotos:
    """rgb [N, S, S, 3] uint8; alpha [N, S, S] float32 exact coverage; landmarks [N, 68, 2] pixel coordinates
    (centres at +0.5); vertices [N, V, 3] posed head vertices; cameras (N cameras); labels [N] str."""

    rgb: np.ndarray
    alpha: np.ndarray
    landmarks: np.ndarray
    vertices: torch.Tensor
    cameras: object
    labels: list


def clutter_background(g: torch.Generator, size: int) -> torch.Tensor:
    """[size, size, 3] float in [0, 1]: a random crop of a busy scikit-image picture (``CLUTTER``)."""
    import cv2
    import skimage.data

    name = CLUTTER[int(torch.randint(len(CLUTTER), (1,), generator=g))]
    img = getattr(skimage.data, name)()
    img = np.repeat(img[..., None], 3, -1) if img.ndim == 2 else img[..., :3]
    H, W = img.shape[:2]
    side = int(min(H, W) * (0.5 + 0.5 * float(torch.rand(1, generator=g))))
    y = int(torch.randint(H - side + 1, (1,), generator=g))
    x = int(torch.randint(W - side + 1, (1,), generator=g))
    crop = cv2.resize(np.ascontiguousarray(img[y:y + side, x:x + side]), (size, size), interpolation=cv2.INTER_AREA)
    return torch.from_numpy(crop.astype(np.float32) / 255.0)


def render_face_photos(head, n: int, size: int = 256, seed: int = 0, first_index: int = 9000,
                       background: str = "clutter", azimuth_deg: float = 25.0, elevation_deg=(-10.0, 20.0),
                       supersample: int = 3, views: int = 1, device=None) -> FacePhotos:
    """``n`` x ``views`` photos of ``real_proxy`` identities ``first_index .. first_index + n - 1`` (azimuth
    uniform in +-``azimuth_deg``, elevation in ``elevation_deg``, a random expression per view, the identity's
    hairstyle). ``device``: where to render (default: the head model's)."""
    from gasp_ops.capture.projection import project
    from gasp_ops.synthetic import (
        render_views, sample_cameras, sample_expression, sample_expressions, sample_identity,
    )

    if background not in ("clutter", "grey"):
        raise GaspInputError("background", f"expected 'clutter' or 'grey', got {background!r}")
    rgbs, alphas, lms, verts, cams, labels = [], [], [], [], [], []
    K = int(views)
    for i in range(int(n)):
        index = int(first_index) + i
        ident = sample_identity(index, seed, head, domain="real_proxy")
        cam, _, _ = sample_cameras(K, seed, size, (-azimuth_deg, azimuth_deg), elevation_deg, head=head,
                                   label=("face_photos", index))
        if K == 1:
            expr, pose = sample_expression(index, seed, head)
            expr = expr[None]
        else:
            expr, pose = sample_expressions([index * 1000 + k for k in range(K)], seed, head)
        g = generator(seed, "face_photo_background", index)
        bg = torch.stack([clutter_background(g, size) for _ in range(K)]) if background == "clutter" else 0.5
        out = render_views(head, ident, expr, pose, cam, "real_proxy", supersample, background=bg, seed=seed,
                           device=device)
        with torch.no_grad():
            dt, hd = head.template.dtype, head.template.device
            v = head(ident.identity[None].to(hd, dt).expand(K, -1), expr.to(hd, dt), pose.to(device=hd, dtype=dt))
            uv, _ = project(head.landmarks(v).float(), cam.to(v.device))
        v = v.float().cpu()
        for k in range(K):
            rgbs.append((out.rgb[k].cpu().numpy() * 255 + 0.5).astype(np.uint8))
            alphas.append(out.alpha[k].cpu().numpy().astype(np.float32))
            lms.append(uv[k, k].cpu().numpy().astype(np.float64))  # view k's camera k
            verts.append(v[k])
            cams.append(cam[k])
            labels.append(f"rp_{index:05d}" + (f"_{k}" if K > 1 else ""))
    from gasp_ops.cameras import Cameras

    cameras = Cameras(torch.cat([c.world_to_cam for c in cams]), torch.cat([c.K for c in cams]), size, size)
    return FacePhotos(np.stack(rgbs), np.stack(alphas), np.stack(lms), torch.stack(verts), cameras, labels)
