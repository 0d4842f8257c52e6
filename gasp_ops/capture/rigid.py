"""Small rigid-motion helpers: axis-angle from matrices, re-expressing a head pose in another world frame, and
the point the cameras of a rig look at."""

from __future__ import annotations

import numpy as np
import torch

from gasp_ops.cameras import Cameras
from gasp_ops.headmodel.base import HeadModel
from gasp_ops.headmodel.pose import HeadPose
from gasp_ops.rotations import axis_angle_to_matrix, matrix_to_quaternion


def matrix_to_axis_angle(R: torch.Tensor) -> torch.Tensor:
    """Rotation matrices [..., 3, 3] -> axis-angle [..., 3] (angle in [0, pi])."""
    q = matrix_to_quaternion(R)
    q = torch.where(q[..., :1] < 0, -q, q)
    s = q[..., 1:].norm(dim=-1, keepdim=True)
    angle = 2 * torch.atan2(s, q[..., :1])
    scale = torch.where(s > 1e-8, angle / s.clamp_min(1e-12), 2.0 / q[..., :1].clamp_min(1e-12))
    return q[..., 1:] * scale


def root_joints(head: HeadModel, identity: torch.Tensor, expression: torch.Tensor) -> torch.Tensor:
    """Root joint [B, 3] of the shaped (unposed) head; identity [B, n_id], expression [B, n_expr]."""
    v = head.shaped(identity, expression)
    return torch.einsum("v,bvc->bc", head.joint_regressor[0], v)


def pose_in_world(pose: HeadPose, root: torch.Tensor, world_from_head: torch.Tensor) -> HeadPose:
    """``pose`` (batch B, in head space) re-expressed after the rigid map ``world_from_head`` [4, 4].

    The model rotates about the root joint ``root`` [B, 3]: X = R (x - J) + J + t. After the map (R_w, t_w):
    rotation' = R_w R, translation' = R_w (J + t) + t_w - J. Neck, jaw and eyes are unchanged.
    """
    Rw = world_from_head[:3, :3].to(pose.rotation)
    tw = world_from_head[:3, 3].to(pose.rotation)
    R = Rw @ axis_angle_to_matrix(pose.rotation)
    t = (Rw @ (root + pose.translation)[..., None])[..., 0] + tw - root
    return HeadPose(rotation=matrix_to_axis_angle(R), translation=t, neck=pose.neck.clone(), jaw=pose.jaw.clone(),
                    eyes=pose.eyes.clone())


def rig_focus(cameras: Cameras) -> np.ndarray:
    """Least-squares closest point [3] to every camera's optical axis (where a rig's cameras look)."""
    w2c = cameras.world_to_cam.double().cpu().numpy()
    C = cameras.centers.double().cpu().numpy()
    A = np.zeros((3, 3))
    b = np.zeros(3)
    for c, M in zip(C, w2c):
        d = M[2, :3] / np.linalg.norm(M[2, :3])
        P = np.eye(3) - np.outer(d, d)
        A += P
        b += P @ c
    if len(C) == 1 or np.linalg.cond(A) > 1e8:  # one camera (or parallel axes): a point in front of the first
        return C[0] + w2c[0, 2, :3] * 0.6
    return np.linalg.solve(A, b)
