"""OpenCV camera convention and rotation helpers."""

import pytest
import torch

from gasp_ops.cameras import Cameras, intrinsics_from_fov, look_at, orbit_cameras
from gasp_ops.errors import GaspInputError
from gasp_ops.rotations import (axis_angle_to_matrix, matrix_to_quaternion, quaternion_multiply,
                                quaternion_to_matrix)


def _project(cams: Cameras, p: torch.Tensor) -> torch.Tensor:
    cam = (cams.world_to_cam[:, :3, :3] @ p[:, None] + cams.world_to_cam[:, :3, 3:])[..., 0]
    uvw = (cams.K @ cam[..., None])[..., 0]
    return torch.cat([uvw[:, :2] / uvw[:, 2:], cam[:, 2:]], -1)


def test_front_camera_sees_the_face_upright():
    cams = orbit_cameras(torch.tensor([0.0]), torch.tensor([0.0]), 1.0, 30.0, 64, 48)
    assert torch.allclose(cams.centers[0], torch.tensor([0.0, 0.0, 1.0]), atol=1e-6)
    centre = _project(cams, torch.zeros(3))[0]
    assert torch.allclose(centre, torch.tensor([32.0, 24.0, 1.0]), atol=1e-4)  # on axis, in front (z > 0)
    up = _project(cams, torch.tensor([0.0, 0.1, 0.0]))[0]
    assert up[1] < 24.0  # world up is image up (OpenCV +y is down)
    left = _project(cams, torch.tensor([0.1, 0.0, 0.0]))[0]
    assert left[0] > 32.0  # subject's left (+x) appears on the image right when facing the subject


def test_orbit_puts_azimuth_90_on_the_subjects_left():
    cams = orbit_cameras(torch.tensor([90.0, 180.0]), torch.tensor([0.0, 30.0]), 2.0, 30.0, 32, 32)
    assert torch.allclose(cams.centers[0], torch.tensor([2.0, 0.0, 0.0]), atol=1e-5)
    assert float(cams.centers[1, 2]) < 0 and float(cams.centers[1, 1]) > 0


def test_look_at_is_rigid():
    M = look_at(torch.randn(5, 3) * 3, torch.zeros(5, 3))
    R = M[:, :3, :3]
    assert torch.allclose(R @ R.transpose(1, 2), torch.eye(3).expand(5, 3, 3), atol=1e-5)
    assert torch.allclose(torch.linalg.det(R), torch.ones(5), atol=1e-5)


def test_camera_validation():
    with pytest.raises(GaspInputError, match="cameras.K"):
        Cameras(torch.eye(4)[None], torch.eye(3)[None].repeat(2, 1, 1), 4, 4)
    with pytest.raises(GaspInputError, match="fov"):
        intrinsics_from_fov(190.0, 4, 4)


def test_rotation_roundtrips():
    aa = torch.randn(100, 3)
    R = axis_angle_to_matrix(aa)
    q = matrix_to_quaternion(R)
    assert torch.allclose(quaternion_to_matrix(q), R, atol=1e-5)
    q2 = matrix_to_quaternion(axis_angle_to_matrix(torch.randn(100, 3)))
    assert torch.allclose(quaternion_to_matrix(quaternion_multiply(q, q2)),
                          R @ quaternion_to_matrix(q2), atol=1e-5)
    small = torch.tensor([[1e-9, 0.0, 0.0]], requires_grad=True)
    axis_angle_to_matrix(small).sum().backward()
    assert bool(torch.isfinite(small.grad).all())
