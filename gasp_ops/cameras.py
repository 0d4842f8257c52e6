"""Pinhole cameras in the OpenCV convention.

``world_to_cam`` [C, 4, 4] maps homogeneous world points to camera space: +x right, +y down, +z forward (the
camera looks along +z). ``K`` [C, 3, 3] maps camera-space points to pixels, u = fx * x / z + cx,
v = fy * y / z + cy, where pixel (i, j) covers [j, j+1) x [i, i+1), so its centre is (j + 0.5, i + 0.5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from gasp_ops.errors import GaspInputError
from gasp_ops.validation import check_tensor


@dataclass(frozen=True)
class Cameras:
    """A batch of C pinhole cameras sharing one image size.

    world_to_cam: [C, 4, 4] rigid transforms (OpenCV convention, see module docstring).
    K: [C, 3, 3] intrinsics in pixels.
    width, height: image size in pixels.
    """

    world_to_cam: torch.Tensor
    K: torch.Tensor
    width: int
    height: int

    def __post_init__(self):
        check_tensor("cameras.world_to_cam", self.world_to_cam, ["C", 4, 4])
        check_tensor("cameras.K", self.K, [self.world_to_cam.shape[0], 3, 3])
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise GaspInputError("cameras.width/height", f"must be positive, got {self.width}x{self.height}")
        if bool((self.K[:, 0, 0] <= 0).any() or (self.K[:, 1, 1] <= 0).any()):
            raise GaspInputError("cameras.K", "focal lengths must be positive")

    def __len__(self) -> int:
        return self.world_to_cam.shape[0]

    def to(self, device) -> "Cameras":
        return Cameras(self.world_to_cam.to(device), self.K.to(device), self.width, self.height)

    def __getitem__(self, index) -> "Cameras":
        if isinstance(index, int):
            index = slice(index, index + 1)
        return Cameras(self.world_to_cam[index], self.K[index], self.width, self.height)

    @property
    def centers(self) -> torch.Tensor:
        """Camera centres in world space [C, 3]."""
        R = self.world_to_cam[:, :3, :3]
        t = self.world_to_cam[:, :3, 3:]
        return -(R.transpose(1, 2) @ t)[..., 0]


def intrinsics_from_fov(fov_x_deg: float, width: int, height: int, dtype=torch.float32) -> torch.Tensor:
    """Square-pixel intrinsics [3, 3] for a horizontal field of view, principal point at the image centre."""
    if not 0.0 < fov_x_deg < 180.0:
        raise GaspInputError("fov_x_deg", f"must be in (0, 180), got {fov_x_deg}")
    f = 0.5 * width / math.tan(math.radians(fov_x_deg) / 2)
    return torch.tensor([[f, 0.0, width / 2], [0.0, f, height / 2], [0.0, 0.0, 1.0]], dtype=dtype)


def look_at(eye: torch.Tensor, target: torch.Tensor, up: torch.Tensor | None = None) -> torch.Tensor:
    """World->camera matrices [C, 4, 4] (OpenCV) for cameras at ``eye`` [C, 3] looking at ``target`` [C, 3].

    ``up`` [3] is the world up direction (default +y); the camera's +y (image down) points against it.
    """
    eye = torch.as_tensor(eye, dtype=torch.float32) if not torch.is_tensor(eye) else eye
    target = torch.as_tensor(target, dtype=eye.dtype).expand_as(eye) if not torch.is_tensor(target) else target.expand_as(eye)
    if up is None:
        up = torch.tensor([0.0, 1.0, 0.0], dtype=eye.dtype, device=eye.device)
    forward = target - eye
    forward = forward / forward.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    right = torch.linalg.cross(forward, up.expand_as(forward), dim=-1)
    degenerate = right.norm(dim=-1, keepdim=True) < 1e-6
    alt = torch.tensor([0.0, 0.0, 1.0], dtype=eye.dtype, device=eye.device).expand_as(forward)
    right = torch.where(degenerate, torch.linalg.cross(forward, alt, dim=-1), right)
    right = right / right.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    down = torch.linalg.cross(forward, right, dim=-1)
    R = torch.stack([right, down, forward], dim=-2)  # rows: camera axes in world coordinates
    M = torch.zeros(eye.shape[0], 4, 4, dtype=eye.dtype, device=eye.device)
    M[:, :3, :3] = R
    M[:, :3, 3] = -(R @ eye[..., None])[..., 0]
    M[:, 3, 3] = 1.0
    return M


def orbit_cameras(
    azimuth_deg: torch.Tensor,
    elevation_deg: torch.Tensor,
    distance: float,
    fov_x_deg: float,
    width: int,
    height: int,
    target: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> Cameras:
    """Cameras on a sphere around ``target`` looking at it.

    azimuth 0 is in front of the face (+z), positive azimuth moves towards the subject's left (+x);
    elevation is positive above the target. Angles [C] in degrees.
    """
    az = torch.deg2rad(torch.as_tensor(azimuth_deg, dtype=torch.float32).reshape(-1))
    el = torch.deg2rad(torch.as_tensor(elevation_deg, dtype=torch.float32).reshape(-1))
    tgt = torch.tensor(target, dtype=torch.float32)
    eye = tgt + distance * torch.stack([torch.cos(el) * torch.sin(az), torch.sin(el), torch.cos(el) * torch.cos(az)], -1)
    w2c = look_at(eye, tgt.expand_as(eye))
    K = intrinsics_from_fov(fov_x_deg, width, height).expand(len(az), 3, 3).clone()
    return Cameras(w2c, K, width, height)
