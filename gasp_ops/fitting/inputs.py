"""Fitting inputs (GASP §3.5, §6, Appendix D/E): frames with camera, matte and 3DMM parameters.

Sources: the preprocessing frame tables (``gasp_ops.capture.frame_table``: NeRSemble or phone captures) and the
synthetic generator (``gasp_ops.synthetic``: held-out ``real_proxy`` subjects with ground truth). Settings pick
frames from a table: single image, monocular video, multi-camera, three frames (front / left / right).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from gasp_ops.cameras import Cameras
from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.pose import HeadPose
from gasp_ops.validation import check_tensor

SETTINGS = ("single_image", "monocular", "multi_camera", "three_frame")
POSE_COLUMNS = ("rotation", "translation", "neck", "jaw", "eyes")


@dataclass
class FitInputs:
    """T frames of one subject.

    images: [T, H, W, 3] float32 in [0, 1], straight (un-premultiplied) colour or the photo itself; the target of
        frame t over background b is ``images * mattes + (1 - mattes) * b``.
    mattes: [T, H, W] float32 in [0, 1] (foreground alpha).
    cameras: ``Cameras`` with T entries (frame t seen by camera t), image size W x H.
    expressions: [T, n_expression]; poses: ``HeadPose`` batch T; identity: [n_identity] (fixed per subject).
    labels: T frame names (e.g. "cam222200037/f0012"); source: free-form description of where they came from.
    """

    images: torch.Tensor
    mattes: torch.Tensor
    cameras: Cameras
    expressions: torch.Tensor
    poses: HeadPose
    identity: torch.Tensor
    labels: list
    source: str = ""
    capture: dict = field(default_factory=dict)  # phone/webcam face choice + crop record (avatar provenance)

    def __post_init__(self):
        self.validate()

    def validate(self) -> "FitInputs":
        check_tensor("inputs.images", self.images, ["T", "H", "W", 3])
        T, H, W = self.images.shape[:3]
        check_tensor("inputs.mattes", self.mattes, [T, H, W])
        if len(self.cameras) != T:
            raise GaspInputError("inputs.cameras", f"need one camera per frame ({T}), got {len(self.cameras)}")
        if (int(self.cameras.width), int(self.cameras.height)) != (W, H):
            raise GaspInputError("inputs.cameras", f"image size {self.cameras.width}x{self.cameras.height} != frames {W}x{H}")
        check_tensor("inputs.expressions", self.expressions, [T, "E"])
        self.poses.validate(T)
        check_tensor("inputs.identity", self.identity, ["n_identity"])
        if len(self.labels) != T:
            raise GaspInputError("inputs.labels", f"need {T} labels, got {len(self.labels)}")
        if T == 0:
            raise GaspInputError("inputs", "no frames")
        return self

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def image_size(self) -> tuple[int, int]:
        """(H, W)."""
        return int(self.images.shape[1]), int(self.images.shape[2])

    def subset(self, idx) -> "FitInputs":
        idx = torch.as_tensor(idx, dtype=torch.long).reshape(-1)
        return FitInputs(self.images[idx], self.mattes[idx], self.cameras[idx], self.expressions[idx],
                         self.poses[idx], self.identity, [self.labels[int(i)] for i in idx], self.source,
                         self.capture)

    def to(self, device) -> "FitInputs":
        return FitInputs(self.images.to(device), self.mattes.to(device), self.cameras.to(device),
                         self.expressions.to(device), self.poses.to(device), self.identity.to(device),
                         list(self.labels), self.source, self.capture)

    def targets(self, idx: torch.Tensor, background: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(rgb [B, H, W, 3] composited over background [B, 3], alpha [B, H, W, 1]) of frames idx [B]."""
        a = self.mattes[idx][..., None]
        return self.images[idx] * a + (1.0 - a) * background[:, None, None, :], a

    def content_hash(self) -> str:
        """sha256 of the frames, mattes, cameras and 3DMM parameters (the avatar file's source hash)."""
        h = hashlib.sha256()
        for t in (self.images, self.mattes, self.cameras.world_to_cam, self.cameras.K, self.expressions,
                  self.identity, *self.poses.as_dict().values()):
            h.update(t.detach().float().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()


def resize_frames(images: torch.Tensor, mattes: torch.Tensor, K: torch.Tensor, size: int):
    """Area-resize square-ish frames so the longer side is ``size``; scales K accordingly.

    images [T, H, W, 3], mattes [T, H, W], K [T, 3, 3] -> same with the new size."""
    H, W = images.shape[1:3]
    s = size / max(H, W)
    if abs(s - 1.0) < 1e-9:
        return images, mattes, K
    h, w = max(1, round(H * s)), max(1, round(W * s))
    x = torch.cat([images, mattes[..., None]], dim=-1).permute(0, 3, 1, 2)
    y = F.interpolate(x, size=(h, w), mode="area" if s < 1 else "bilinear", align_corners=None if s < 1 else False)
    y = y.permute(0, 2, 3, 1)
    K = K.clone()
    K[:, 0] *= w / W
    K[:, 1] *= h / H
    return y[..., :3].contiguous(), y[..., 3].contiguous(), K


def from_synthetic(head, identity, cameras: Cameras, expressions: torch.Tensor, poses: HeadPose,
                   domain: str = "real_proxy", supersample: int = 3, seed: int = 0, assets=None):
    """Render a synthetic subject (``gasp_ops.synthetic.render_views``) as fitting inputs.

    identity: a ``SyntheticIdentity``; cameras: K cameras; expressions [K, E]; poses batch K. Returns
    (FitInputs, SyntheticViews) - the views carry the exact annotations (part ids, alpha) for evaluation.
    """
    from gasp_ops.synthetic.render import render_views

    views = render_views(head, identity, expressions, poses, cameras, domain=domain, supersample=supersample,
                         seed=seed, assets=assets)
    a = views.alpha.float().cpu()
    straight = torch.where(a[..., None] > 1e-6, views.rgb.cpu() / a[..., None].clamp_min(1e-6),
                           torch.zeros_like(views.rgb.cpu())).clamp(0, 1)
    inputs = FitInputs(straight, a, cameras.to("cpu"), expressions.float().cpu(), poses.to("cpu"),
                       identity.identity.float().cpu(), [f"view{k}" for k in range(len(cameras))],
                       f"synthetic:{identity.domain}:{identity.seed}:{identity.index}:{domain}")
    return inputs, views


def _stack(col) -> torch.Tensor:
    return torch.as_tensor(np.stack([np.asarray(v, np.float32) for v in col]))


def camera_frontalness(table: pd.DataFrame) -> pd.Series:
    """Per row: cosine between the head's facing direction (+z of the head after its rotation) and the direction
    from the head to the camera (1 = straight on)."""
    from gasp_ops.rotations import axis_angle_to_matrix

    w2c = _stack(table["world_to_cam"]).reshape(-1, 4, 4)
    R, t = w2c[:, :3, :3], w2c[:, :3, 3:]
    centres = -(R.transpose(1, 2) @ t)[..., 0]
    rot = axis_angle_to_matrix(_stack(table["rotation"]).reshape(-1, 3))
    head_pos = _stack(table["translation"]).reshape(-1, 3)
    facing = rot[:, :, 2]
    d = F.normalize(centres - head_pos, dim=-1)
    return pd.Series((d * facing).sum(-1).numpy(), index=table.index)


def select_setting(table: pd.DataFrame, setting: str, *, sequence: str | None = None, camera: str | None = None,
                   frame_step: int | None = None, max_frames: int | None = None) -> pd.DataFrame:
    """Rows of a frame table for one fitting setting (Appendix D/E).

    single_image: the first frame of the most frontal camera. monocular: every ``frame_step`` (2)-th frame of the
    most frontal camera. multi_camera: every camera, every ``frame_step`` (10)-th frame. three_frame: the first frame
    of the most frontal camera and of the cameras most to the left and right of it. ``camera`` forces the
    frontal camera; ``sequence`` restricts the rows.
    """
    if setting not in SETTINGS:
        raise GaspInputError("setting", f"unknown setting {setting!r}; known: {', '.join(SETTINGS)}")
    rows = table if sequence is None else table[table["sequence"] == sequence]
    if rows.empty:
        raise GaspInputError("frames", f"no frames{' for sequence ' + repr(sequence) if sequence else ''}")
    score = camera_frontalness(rows).groupby(rows["camera"].astype(str)).mean()
    front = str(camera) if camera is not None else str(score.idxmax())
    if front not in score.index:
        raise GaspInputError("camera", f"camera {camera!r} not in the table ({', '.join(score.index)})")
    cam = rows["camera"].astype(str)
    first_frame = rows["frame"].min()
    if setting == "single_image":
        out = rows[(cam == front)].sort_values("frame").head(1)
    elif setting == "monocular":
        mine = rows[cam == front].sort_values("frame")
        out = mine.iloc[:: (frame_step or 2)]
    elif setting == "multi_camera":
        frames = sorted(rows["frame"].unique())[:: (frame_step or 10)]
        out = rows[rows["frame"].isin(frames)]
    else:  # three_frame: left/right by the sign of the camera's x in the head frame
        w2c = _stack(rows["world_to_cam"]).reshape(-1, 4, 4)
        centres = -(w2c[:, :3, :3].transpose(1, 2) @ w2c[:, :3, 3:])[..., 0]
        side = pd.Series((centres[:, 0] - _stack(rows["translation"])[:, 0]).numpy(), index=rows.index)
        by_cam = side.groupby(cam).mean()
        left, right = str(by_cam.idxmax()), str(by_cam.idxmin())
        picks = [front] + [c for c in (left, right) if c != front]
        out = pd.concat([rows[(cam == c) & (rows["frame"] == first_frame)].head(1) for c in picks])
    if max_frames:
        out = out.head(int(max_frames))
    if out.empty:
        raise GaspInputError("frames", f"setting {setting!r} selected no frames")
    return out


def from_frame_table(table, root=None, *, setting: str | None = None, image_size: int | None = None,
                     **select) -> FitInputs:
    """FitInputs from a frame table (a DataFrame, or the path of ``frames.parquet``; image paths are relative to
    ``root``, default the table's folder). ``setting`` applies ``select_setting`` (with ``select`` options);
    ``image_size`` resizes so the longer side has that many pixels. Identity: the mean of the rows' identity
    coefficients (one subject, fixed)."""
    from gasp_ops.io.images import load_png
    from gasp_ops.io.tables import read_parquet

    if not isinstance(table, pd.DataFrame):
        path = Path(table)
        root = Path(root) if root is not None else path.parent
        table = read_parquet(path)
    elif root is None:
        raise GaspInputError("root", "give the folder the table's image paths are relative to")
    root = Path(root)
    if setting is not None:
        table = select_setting(table, setting, **select)
    if table.empty:
        raise GaspInputError("frames", "the frame table has no rows")
    if "subject" in table and table["subject"].astype(str).nunique() > 1:
        raise GaspInputError("frames", "rows of more than one subject; fit one subject at a time")
    sizes = set(zip(table["width"].astype(int), table["height"].astype(int)))
    if len(sizes) != 1:
        raise GaspInputError("frames", f"frames of different sizes {sorted(sizes)}; pass image_size to resize")
    images, mattes = [], []
    for row in table.itertuples(index=False):
        img = load_png(root / row.image_path)
        images.append(img[..., :3].astype(np.float32) / 255.0)
        m = load_png(root / row.matte_path)
        m = m[..., 0] if m.ndim == 3 else m
        mattes.append(m.astype(np.float32) / (65535.0 if m.dtype == np.uint16 else 255.0))
    images_t, mattes_t = torch.as_tensor(np.stack(images)), torch.as_tensor(np.stack(mattes))
    K = _stack(table["K"]).reshape(-1, 3, 3)
    w2c = _stack(table["world_to_cam"]).reshape(-1, 4, 4)
    if image_size:
        images_t, mattes_t, K = resize_frames(images_t, mattes_t, K, int(image_size))
    H, W = images_t.shape[1:3]
    pose = HeadPose(**{c: _stack(table[c]).reshape(len(table), -1) for c in POSE_COLUMNS})
    identity = _stack(table["identity"]).reshape(len(table), -1).mean(0)
    labels = [f"{r.sequence}/{r.camera}/{int(r.frame):05d}" for r in table.itertuples(index=False)]
    return FitInputs(images_t, mattes_t, Cameras(w2c, K, W, H), _stack(table["expression"]).reshape(len(table), -1),
                     pose, identity, labels, f"frame_table:{root}")


def orbit_distance(cameras: Cameras, centre: torch.Tensor) -> float:
    """Mean distance (metres) of the camera centres from ``centre`` [3] (the fit's scene extent)."""
    return float((cameras.centers - centre.to(cameras.centers)).norm(dim=-1).mean().clamp_min(1e-3))


__all__ = ["FitInputs", "SETTINGS", "from_frame_table", "from_synthetic", "select_setting", "resize_frames",
           "camera_frontalness", "orbit_distance"]
