"""The tracker's shading model (SH lighting x closed-form albedo) and its cheap stencil normals."""

import math

import torch

from gasp_ops.capture.shading import ShadingModel, sh_basis
from gasp_ops.capture.stencil_normals import StencilNormals
from gasp_ops.capture.tracking import vertex_normals


def _unit(x):
    return x / x.norm(dim=-1, keepdim=True)


def test_ambient_start_is_plain_colour_consistency():
    g = torch.Generator().manual_seed(0)
    col = torch.rand(3, 4, 50, 3, generator=g)
    w = (torch.rand(3, 4, 50, 1, generator=g) > 0.3).float()
    normals = _unit(torch.randn(3, 50, 3, generator=g))
    pred = ShadingModel().predict(col, w, normals)
    mean = (col * w).sum((0, 1), keepdim=True) / w.sum((0, 1), keepdim=True).clamp_min(1)
    assert torch.allclose(pred, mean.expand_as(pred), atol=1e-6)


def test_lighting_is_recovered_from_shaded_colours():
    """Colours made as albedo x SH shading under a known light: fitting the lighting explains them (the plain
    per-vertex mean cannot), and the fitted shading matches the true one up to the albedo/light scale."""
    g = torch.Generator().manual_seed(1)
    T, C, V = 4, 3, 200
    normals = _unit(torch.randn(T, V, 3, generator=g) + torch.tensor([0.0, 0.0, 1.5]))
    light = torch.zeros(9, 3)
    light[0] = 0.6
    light[3] = 0.35  # key light from +z
    light[1] = 0.15
    albedo = 0.3 + 0.5 * torch.rand(1, 1, V, 3, generator=g)
    col = (albedo * (sh_basis(normals) @ light)[:, None]).expand(T, C, V, 3).contiguous()
    w = torch.ones(T, C, V, 1)
    model = ShadingModel()
    with torch.no_grad():
        err0 = float((model.predict(col, w, normals) - col).abs().mean())
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(200):
        opt.zero_grad()
        loss = ((model.predict(col, w, normals) - col) ** 2).mean()
        loss.backward()
        opt.step()
    with torch.no_grad():
        err = float((model.predict(col, w, normals) - col).abs().mean())
    assert err < 0.1 * err0 and err < 2e-3, (err0, err)
    s_fit = model.shading(normals).detach()
    s_true = sh_basis(normals) @ light
    ratio = s_fit / s_true
    assert float(ratio.std() / ratio.mean()) < 0.02


def test_stencil_normals_match_area_weighted_and_are_differentiable():
    from gasp_ops.headmodel.procedural import ProceduralHead

    head = ProceduralHead()
    faces = head.topology.faces
    ids = torch.arange(0, head.template.shape[0], 3)
    sn = StencilNormals(faces, head.template, ids)
    a = math.radians(20.0)
    R = torch.tensor([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    verts = torch.stack([head.template, head.template @ R.T + 0.1]).requires_grad_()
    n = sn(verts)
    ref = vertex_normals(verts.detach(), faces)[:, ids]
    angle = torch.rad2deg(torch.arccos((n.detach() * ref).sum(-1).clamp(-1, 1)))
    assert float(angle.median()) < 1.0 and float(angle.quantile(0.9)) < 6.0  # outward like the reference
    assert torch.allclose(n.norm(dim=-1), torch.ones(()), atol=1e-5)
    n.sum().backward()
    assert verts.grad is not None and torch.isfinite(verts.grad).all() and verts.grad.abs().sum() > 0
