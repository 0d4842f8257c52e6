"""Gaussian avatar posing: follows the mesh, batched, differentiable, validated."""

import pytest
import torch

from gasp_ops.avatar import GaussianAvatar, pose
from gasp_ops.errors import GaspInputError
from gasp_ops.rotations import axis_angle_to_matrix, quaternion_to_matrix


def _avatar(n=50, seed=0):
    g = torch.Generator().manual_seed(seed)
    verts = torch.randn(12, 3, generator=g)
    faces = torch.tensor([[0, 1, 2], [2, 3, 4], [5, 6, 7], [8, 9, 10], [9, 11, 10]])
    bary = torch.rand(n, 3, generator=g)
    bary = bary / bary.sum(-1, keepdim=True)
    av = GaussianAvatar(
        faces=faces, face_ids=torch.randint(0, 5, (n,), generator=g), barycentrics=bary,
        offsets=0.3 * torch.randn(n, 3, generator=g), log_scales=0.2 * torch.randn(n, 3, generator=g) - 2,
        quats=torch.randn(n, 4, generator=g), colors=torch.rand(n, 3, generator=g),
        opacity_logits=torch.randn(n, generator=g))
    return av, verts


def test_zero_offset_gaussians_sit_on_their_barycentric_point():
    av, v = _avatar()
    av.offsets = torch.zeros_like(av.offsets)
    g = pose(av, v[None])
    expect = (v[av.faces[av.face_ids]] * av.barycentrics[..., None]).sum(1)
    assert torch.allclose(g.means[0], expect, atol=1e-6)


def test_pose_is_equivariant_to_a_similarity_transform_of_the_mesh():
    av, v = _avatar()
    R = axis_angle_to_matrix(torch.tensor([0.4, 0.9, -0.2]))
    t = torch.tensor([1.0, -2.0, 0.5])
    a = pose(av, v[None])
    b = pose(av, (1.5 * v @ R.T + t)[None])
    assert torch.allclose(b.means[0], 1.5 * a.means[0] @ R.T + t, atol=1e-5)
    assert torch.allclose(b.scales, 1.5 * a.scales, atol=1e-5)
    Ra = quaternion_to_matrix(a.quats[0])
    Rb = quaternion_to_matrix(b.quats[0])
    assert torch.allclose(Rb, R @ Ra, atol=1e-5)
    assert torch.allclose(b.opacities, torch.sigmoid(av.opacity_logits)[None])


def test_pose_is_batched_and_differentiable():
    av, v = _avatar()
    for name in ("offsets", "log_scales", "quats", "colors", "opacity_logits"):
        getattr(av, name).requires_grad_(True)
    verts = torch.stack([v, v + 0.1]).requires_grad_(True)
    g = pose(av, verts)
    assert g.means.shape == (2, 50, 3) and g.quats.shape == (2, 50, 4)
    (g.means.sum() + g.scales.sum() + g.quats.sum() + g.opacities.sum() + g.colors.sum()).backward()
    for name in ("offsets", "log_scales", "quats", "colors", "opacity_logits"):
        grad = getattr(av, name).grad
        assert grad is not None and bool(torch.isfinite(grad).all()) and float(grad.abs().sum()) > 0, name
    assert verts.grad is not None and float(verts.grad.abs().sum()) > 0


def test_bad_inputs_give_one_line_errors():
    av, v = _avatar()
    with pytest.raises(GaspInputError, match="vertices"):
        pose(av, v[None, :5])
    with pytest.raises(GaspInputError, match="vertices"):
        pose(av, v[None, :, :2])
    bad = v.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(GaspInputError, match="NaN"):
        pose(av, bad[None])
    with pytest.raises(GaspInputError, match="avatar.offsets"):
        GaussianAvatar(faces=av.faces, face_ids=av.face_ids, barycentrics=av.barycentrics,
                       offsets=torch.zeros(3, 3), log_scales=av.log_scales, quats=av.quats, colors=av.colors,
                       opacity_logits=av.opacity_logits)
    with pytest.raises(GaspInputError, match="face_ids"):
        GaussianAvatar(faces=av.faces, face_ids=av.face_ids + 10, barycentrics=av.barycentrics,
                       offsets=av.offsets, log_scales=av.log_scales, quats=av.quats, colors=av.colors,
                       opacity_logits=av.opacity_logits)
