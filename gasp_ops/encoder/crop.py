"""The encoder's input: one square head crop per frame, defined the same way for training and for enrolment.

Definition (``head_crops``): pose the head model with the frame's identity, expression and pose; project the
vertices of every face outside the ``neck`` region (scalp, face, ears, eyes, mouth: the head itself) with the
frame's camera (OpenCV pinhole); take their 2D bounding box; the crop is the square of side ``crop_scale x
max(box width, box height)`` centred ``crop_lift x side`` above the box centre (the margin holds hair volume).
Seen from any side the head sits in the middle (a box of the 68 face landmarks would leave the back of the head out
of profile views). Its pixels are resampled (bilinear, ``align_corners=False``, outside the image = 0) on a grid
``ss`` times finer than the output and area-averaged by ``ss`` (anti-aliasing; ``ss = ceil(side / crop_size)``, at
most 4, chosen per frame so a frame's crop never depends on the rest of its batch). Channels: premultiplied colour
(image x matte, so the background is black) and the matte: [4, S, S] in [0, 1].

Training (``view_crops``) takes synthetic renders with their ground-truth 3DMM parameters, camera and alpha;
enrolment (``input_crops``) takes the preprocessed photo/video frames (``gasp_ops.capture``: tracked 3DMM
parameters, the phone camera, the matte). Both call ``head_crops``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gasp_ops.cameras import Cameras
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.headmodel.pose import HeadPose

MAX_SUPERSAMPLE = 4


def project_per_frame(points: torch.Tensor, cameras: Cameras) -> torch.Tensor:
    """Points [B, N, 3] (world) seen by camera b for frame b -> pixels [B, N, 2] (centres at +0.5)."""
    w2c = cameras.world_to_cam.to(points)
    pc = torch.einsum("bij,bnj->bni", w2c[:, :3, :3], points) + w2c[:, None, :3, 3]
    uv = torch.einsum("bij,bnj->bni", cameras.K.to(points), pc)
    return uv[..., :2] / uv[..., 2:3].clamp_min(1e-6)


def head_vertex_ids(head: HeadModel) -> torch.Tensor:
    """Indices [K] of the vertices of every face outside the ``neck`` region (the head's own surface); cached on
    the head model (its topology never changes)."""
    from gasp_ops.headmodel.topology import REGIONS

    cached = getattr(head, "_encoder_crop_vertex_ids", None)
    if cached is None:
        topo = head.topology
        keep = topo.face_regions != REGIONS.index("neck")
        cached = torch.unique(topo.faces[keep].reshape(-1)).cpu()
        head._encoder_crop_vertex_ids = cached
    return cached


def point_boxes(pixels: torch.Tensor, crop_scale: float, crop_lift: float) -> torch.Tensor:
    """Projected points [B, K, 2] -> crop boxes [B, 3] = (centre x, centre y, side) in pixels."""
    lo, hi = pixels.min(1).values, pixels.max(1).values
    side = crop_scale * (hi - lo).max(-1).values.clamp_min(1.0)
    centre = 0.5 * (lo + hi)
    return torch.stack([centre[:, 0], centre[:, 1] - crop_lift * side, side], -1)


def jitter_boxes(boxes: torch.Tensor, jitter: torch.Tensor | None) -> torch.Tensor:
    """Apply jitter [B, 3] = (dx, dy in units of the side, log-scale) to boxes [B, 3] (None = unchanged)."""
    if jitter is None:
        return boxes
    j = jitter.to(boxes)
    side = boxes[:, 2] * torch.exp(j[:, 2])
    return torch.stack([boxes[:, 0] + j[:, 0] * boxes[:, 2], boxes[:, 1] + j[:, 1] * boxes[:, 2], side], -1)


def crop_boxes(rgb: torch.Tensor, alpha: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """Crops [B, 4, size, size] (premultiplied rgb, alpha) of rgb [B, H, W, 3] (premultiplied) and alpha [B, H, W]
    inside boxes [B, 3] (centre x, centre y, side in pixels); see the module docstring for the sampling."""
    B, H, W = alpha.shape
    img = torch.cat([rgb.float(), alpha.float()[..., None]], -1).permute(0, 3, 1, 2)  # [B, 4, H, W]
    boxes = boxes.float().to(img.device)
    ss = (boxes[:, 2] / size).ceil().clamp(1, MAX_SUPERSAMPLE).long().cpu()
    out = img.new_zeros(B, 4, size, size)
    for s in ss.unique().tolist():
        sel = torch.nonzero(ss == s).flatten().to(img.device)
        R = size * s
        base = (torch.arange(R, device=img.device, dtype=img.dtype) + 0.5) / R - 0.5  # [R], in units of the side
        b = boxes[sel]
        px = b[:, None, 0] + base[None] * b[:, None, 2]  # [b, R]
        py = b[:, None, 1] + base[None] * b[:, None, 2]
        gx = (px / W * 2 - 1)[:, None, :].expand(-1, R, -1)
        gy = (py / H * 2 - 1)[:, :, None].expand(-1, -1, R)
        grid = torch.stack([gx, gy], -1)  # [b, R, R, 2]
        sampled = F.grid_sample(img[sel], grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        out[sel] = F.avg_pool2d(sampled, s) if s > 1 else sampled
    return out.clamp(0, 1)


def head_crops(head: HeadModel, identity: torch.Tensor, expression: torch.Tensor, pose: HeadPose, cameras: Cameras,
               rgb: torch.Tensor, alpha: torch.Tensor, crop_size: int, crop_scale: float, crop_lift: float,
               jitter: torch.Tensor | None = None) -> torch.Tensor:
    """THE crop of B frames: identity [B, n_id], expression [B, E], pose (B), cameras (B, frame b by camera b),
    rgb [B, H, W, 3] premultiplied (colour x matte), alpha [B, H, W] -> [B, 4, crop_size, crop_size]."""
    with torch.no_grad():
        dev = head.template.device
        verts = head(identity.float().to(dev), expression.float().to(dev), pose.to(dev))
        ids = head_vertex_ids(head).to(dev)
        pixels = project_per_frame(verts[:, ids], cameras.to(dev))
    boxes = jitter_boxes(point_boxes(pixels, crop_scale, crop_lift), jitter)
    return crop_boxes(rgb, alpha, boxes.to(rgb.device), crop_size)


def config_crops(head, identity, expression, pose, cameras, rgb, alpha, config, jitter=None) -> torch.Tensor:
    """``head_crops`` with the crop settings of an ``EncoderConfig``."""
    return head_crops(head, identity, expression, pose, cameras, rgb, alpha, config.crop_size, config.crop_scale,
                      config.crop_lift, jitter)


def view_crops(views, idx, head: HeadModel, config, device="cpu", jitter=None) -> torch.Tensor:
    """Training side: crops [K, 4, S, S] of ``PriorViews`` views idx [K] (ground-truth parameters and alpha)."""
    batch = views.gather(idx, device)
    return config_crops(head, batch.identity, batch.expression, batch.pose, batch.cameras, batch.rgb,
                        batch.alpha[..., 0], config, jitter)


def input_crops(inputs, head: HeadModel, config, idx=None, device="cpu") -> torch.Tensor:
    """Enrolment side: crops [K, 4, S, S] of ``FitInputs`` frames idx (default all): the preprocessed frames with
    their tracked parameters, camera and matte."""
    idx = torch.arange(len(inputs)) if idx is None else torch.as_tensor(idx, dtype=torch.long).reshape(-1)
    sub = inputs.subset(idx).to(device)
    k = len(sub)
    return config_crops(head, sub.identity[None].expand(k, -1), sub.expressions, sub.poses, sub.cameras,
                        sub.images * sub.mattes[..., None], sub.mattes, config)


def spread_frames(n: int, k: int) -> list[int]:
    """k indices spread evenly over n frames (all of them when n <= k), first and last included."""
    if n <= k:
        return list(range(n))
    if k == 1:
        return [0]
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})


__all__ = ["head_crops", "config_crops", "view_crops", "input_crops", "crop_boxes", "point_boxes", "head_vertex_ids",
           "jitter_boxes", "project_per_frame", "spread_frames", "MAX_SUPERSAMPLE"]
