"""The numba CPU compositing kernels against the vectorised torch compositing of the reference rasteriser:
same images and same gradients (to means, quats, scales, opacities, colours and the background) on random
head-sized scenes, several cameras, batched Gaussians, a background, and the transmittance cut-off in play."""

from __future__ import annotations

import pytest
import torch

from gasp_ops.render.reference import numba_compositor, render_reference

pytestmark = pytest.mark.skipif(numba_compositor() is None, reason="numba not installed")


def _scene(n: int, images: int, batched: bool, seed: int, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    lead = images if batched else 1
    means = (torch.randn(lead, n, 3, generator=g, dtype=dtype) * 0.08)
    quats = torch.randn(lead, n, 4, generator=g, dtype=dtype)
    scales = torch.rand(lead, n, 3, generator=g, dtype=dtype) * 0.03 + 0.004
    opac = torch.rand(lead, n, generator=g, dtype=dtype) * 0.98 + 0.01
    opac[..., :5] = 1.0  # the 0.999 clamp
    colors = torch.rand(lead, n, 3, generator=g, dtype=dtype)
    w2c = torch.eye(4, dtype=dtype).repeat(images, 1, 1)
    w2c[:, 2, 3] = 0.6 + 0.05 * torch.arange(images, dtype=dtype)
    w2c[:, 0, 3] = 0.01 * torch.arange(images, dtype=dtype)
    K = torch.tensor([[90.0, 0, 40.0], [0, 90.0, 36.0], [0, 0, 1]], dtype=dtype).repeat(images, 1, 1)
    return [t.requires_grad_(True) for t in (means, quats, scales, opac, colors)], w2c, K


@pytest.mark.parametrize("batched,images,n,seed", [(False, 1, 400, 0), (False, 3, 1500, 1), (True, 2, 800, 2)])
def test_numba_matches_torch_images_and_gradients(batched, images, n, seed):
    fields, w2c, K = _scene(n, images, batched, seed)
    bg = torch.tensor([0.2, 0.5, 0.7], requires_grad=True)
    results = {}
    weights = torch.rand(images, 72, 80, 5, generator=torch.Generator().manual_seed(9))
    for comp in ("torch", "numba"):
        for t in (*fields, bg):
            t.grad = None
        rgb, alpha, depth = render_reference(*fields, w2c, K, 80, 72, bg, compositor=comp)
        loss = (rgb * weights[..., :3]).sum() + (alpha[..., 0] * weights[..., 3]).sum() \
            + (torch.nan_to_num(depth[..., 0]) * weights[..., 4] * alpha[..., 0]).sum()
        loss.backward()
        results[comp] = (rgb.detach(), alpha.detach(), depth.detach(),
                         [t.grad.clone() for t in (*fields, bg)])
    a, b = results["torch"], results["numba"]
    assert float(a[1].mean()) > 0.2  # the scene covers the image
    assert float((a[1] > 0.999).float().mean()) > 0.01  # some pixels reach the transmittance cut-off
    for x, y in zip(a[:3], b[:3]):
        assert torch.allclose(x, y, atol=2e-5), float((x - y).abs().max())
    for name, x, y in zip(("means", "quats", "scales", "opacities", "colors", "background"), a[3], b[3]):
        rel = float((x - y).norm() / x.norm().clamp_min(1e-12))
        assert rel < 1e-3, (name, rel)


def test_numba_is_default_on_cpu_and_deterministic():
    fields, w2c, K = _scene(600, 2, False, 3)
    outs = []
    for _ in range(2):
        rgb, alpha, _ = render_reference(*fields, w2c, K, 80, 72)
        rgb.sum().backward()
        outs.append((rgb.detach(), fields[0].grad.clone()))
        for t in fields:
            t.grad = None
    assert torch.equal(outs[0][0], outs[1][0]) and torch.equal(outs[0][1], outs[1][1])
    ref, _, _ = render_reference(*fields, w2c, K, 80, 72, compositor="torch")
    assert torch.allclose(ref, outs[0][0], atol=2e-5)
