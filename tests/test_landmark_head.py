"""``LandmarkHead``: the 68 landmarks from a few vertices equal the full head model's, values and gradients."""

from __future__ import annotations

import torch

from gasp_ops.headmodel import HeadPose, ProceduralHead
from gasp_ops.headmodel.landmark_head import LandmarkHead


def _inputs(head, B=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    ident = 0.8 * torch.randn(B, head.n_identity, generator=g)
    expr = 0.8 * torch.randn(B, head.n_expression, generator=g)
    pose = HeadPose(rotation=0.3 * torch.randn(B, 3, generator=g), translation=0.05 * torch.randn(B, 3, generator=g),
                    neck=0.2 * torch.randn(B, 3, generator=g), jaw=0.2 * torch.randn(B, 3, generator=g),
                    eyes=0.1 * torch.randn(B, 6, generator=g))
    return ident, expr, pose


def test_landmarks_equal_the_full_models_values_and_gradients():
    head = ProceduralHead()
    ident, expr, pose = _inputs(head)
    fast = LandmarkHead(head)
    leaves = [t.clone().requires_grad_(True) for t in (ident, expr, pose.rotation, pose.jaw)]

    def pose_of(rot, jaw):
        return HeadPose(rotation=rot, translation=pose.translation, neck=pose.neck, jaw=jaw, eyes=pose.eyes)

    full = head.landmarks(head(leaves[0], leaves[1], pose_of(leaves[2], leaves[3])))
    part = fast.landmarks(leaves[0], leaves[1], pose_of(leaves[2], leaves[3]))
    assert part.shape == full.shape == (3, 68, 3)
    scale = full.abs().max()
    assert (part - full).abs().max() < 1e-5 * scale
    w = torch.randn(full.shape, generator=torch.Generator().manual_seed(1))
    g_full = torch.autograd.grad((full * w).sum(), leaves)
    g_part = torch.autograd.grad((part * w).sum(), leaves)
    for a, b in zip(g_full, g_part):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-5 * a.abs().max())
    # a different expression moves them (the comparison above is not of two constant outputs)
    other = fast.landmarks(ident, expr + 1.0, pose)
    assert (other - fast.landmarks(ident, expr, pose)).abs().max() > 1e-3 * scale
