"""CPU tests of the pure-torch reference rasteriser (gasp_ops.render.reference) and the render() entry point."""

from __future__ import annotations

import math

import pytest
import torch

from gasp_ops.cameras import Cameras, orbit_cameras
from gasp_ops.errors import GaspInputError, GaspUnavailableError
from gasp_ops.render import Gaussians3D, render
from gasp_ops.render.reference import ALPHA_MIN, project, render_reference

F = 100.0  # focal length in pixels of the analytic tests


def _front_camera(width=64, height=64, f=F, cx=None, cy=None, dtype=torch.float32) -> Cameras:
    """Camera at the origin looking down +z (identity world_to_cam)."""
    cx = width / 2 if cx is None else cx
    cy = height / 2 if cy is None else cy
    K = torch.tensor([[[f, 0.0, cx], [0.0, f, cy], [0.0, 0.0, 1.0]]], dtype=dtype)
    return Cameras(torch.eye(4, dtype=dtype)[None], K, width, height)


def _gaussians(means, scales, opacities, colors, quats=None, dtype=torch.float32) -> Gaussians3D:
    means = torch.as_tensor(means, dtype=dtype)
    n = means.shape[0]
    if quats is None:
        quats = torch.tensor([[1.0, 0.0, 0.0, 0.0]] * n, dtype=dtype)
    scales = torch.as_tensor(scales, dtype=dtype)
    if scales.ndim == 1:
        scales = scales[:, None].repeat(1, 3)
    return Gaussians3D(
        means, torch.as_tensor(quats, dtype=dtype), scales,
        torch.as_tensor(opacities, dtype=dtype), torch.as_tensor(colors, dtype=dtype),
    )


def _random_scene(n, seed=0, dtype=torch.float32, batch=None) -> Gaussians3D:
    g = torch.Generator().manual_seed(seed)
    lead = () if batch is None else (batch,)
    d = torch.randn(*lead, n, 3, generator=g, dtype=dtype)
    means = d / d.norm(dim=-1, keepdim=True) * torch.tensor([0.08, 0.11, 0.10], dtype=dtype)
    return Gaussians3D(
        means,
        torch.randn(*lead, n, 4, generator=g, dtype=dtype),
        torch.rand(*lead, n, 3, generator=g, dtype=dtype) * 0.012 + 0.003,
        torch.rand(*lead, n, generator=g, dtype=dtype) * 0.95 + 0.05,
        torch.rand(*lead, n, 3, generator=g, dtype=dtype),
    )


# --------------------------------------------------------------------------------------------- analytic footprint


def test_isotropic_footprint_matches_ewa_with_lowpass():
    z, s, op = 2.0, 0.04, 0.8
    cams = _front_camera(cx=32.5, cy=32.5)  # the centre projects onto the centre of pixel (32, 32)
    out = render(_gaussians([[0.0, 0.0, z]], [s], [op], [[1.0, 1.0, 1.0]]), cams)
    alpha = out.alpha[0, ..., 0].double()
    sigma = math.sqrt((F * s / z) ** 2 + 0.3)  # EWA std in pixels combined with the 0.3 px^2 low-pass
    jj, ii = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="xy")
    r2 = (jj + 0.5 - 32.5) ** 2 + (ii + 0.5 - 32.5) ** 2
    expected = op * torch.exp(-0.5 * r2 / sigma**2).double()
    expected = torch.where(expected >= ALPHA_MIN, expected, torch.zeros_like(expected))
    assert (alpha - expected).abs().max() < 1e-5
    # peak at the projected centre pixel equals the opacity
    assert int(alpha.argmax()) == 32 * 64 + 32
    assert alpha[32, 32].item() == pytest.approx(op, abs=1e-6)
    # std recovered from the profile along x: a(k) / a(0) = exp(-k^2 / (2 sigma^2))
    fitted = math.sqrt(-0.5 * 4 / math.log(alpha[32, 34].item() / alpha[32, 32].item()))
    assert fitted == pytest.approx(sigma, rel=1e-4)
    # centroid where the pinhole projection puts it (pixel coordinates, centres at +0.5)
    w = alpha / alpha.sum()
    assert float((w * (jj + 0.5)).sum()) == pytest.approx(32.5, abs=1e-4)
    assert float((w * (ii + 0.5)).sum()) == pytest.approx(32.5, abs=1e-4)
    # rgb of a white Gaussian on black equals alpha, depth is z wherever something was hit
    assert torch.allclose(out.rgb[0], out.alpha[0].expand(-1, -1, 3))
    hit = out.alpha[0, ..., 0] > 0
    assert torch.allclose(out.depth[0, ..., 0][hit], torch.full_like(out.depth[0, ..., 0][hit], z))
    assert (out.depth[0, ..., 0][~hit] == 0).all()


def test_centroid_follows_projection_for_orbit_camera():
    cams = orbit_cameras(torch.tensor([35.0]), torch.tensor([-10.0]), 0.7, 30.0, 96, 80)
    mean = torch.tensor([[0.02, -0.03, 0.01]])
    out = render(_gaussians(mean, [0.004], [0.9], [[1.0, 0.5, 0.2]]), cams)
    pc = (cams.world_to_cam[0, :3, :3] @ mean[0] + cams.world_to_cam[0, :3, 3])
    uv = (cams.K[0] @ (pc / pc[2]))[:2]
    a = out.alpha[0, ..., 0].double()
    jj, ii = torch.meshgrid(torch.arange(96.0), torch.arange(80.0), indexing="xy")
    w = a / a.sum()
    cu, cv = float((w * (jj + 0.5)).sum()), float((w * (ii + 0.5)).sum())
    # the 1/255 truncation is symmetric about the centre, so the centroid is exact up to pixel sampling
    assert cu == pytest.approx(float(uv[0]), abs=0.02)
    assert cv == pytest.approx(float(uv[1]), abs=0.02)
    assert out.depth[0, int(uv[1]), int(uv[0]), 0].item() == pytest.approx(float(pc[2]), rel=1e-5)


def test_anisotropic_rotated_gaussian_covariance():
    # scale (0.06, 0.02) rotated 30 degrees about z: the 2D covariance is R diag(f s / z)^2 R^T + 0.3 I
    ang = math.radians(30)
    q = [[math.cos(ang / 2), 0.0, 0.0, math.sin(ang / 2)]]
    g = _gaussians([[0.0, 0.0, 2.0]], [[0.06, 0.02, 0.01]], [0.9], [[1.0, 1.0, 1.0]], quats=q, dtype=torch.float64)
    cams = _front_camera(cx=32.5, cy=32.5, dtype=torch.float64)
    proj = project(g.means[None], g.quats[None], g.scales[None], g.opacities[None], g.colors[None],
                   cams.world_to_cam, cams.K, 64, 64)
    R2 = torch.tensor([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]], dtype=torch.float64)
    cov = R2 @ torch.diag(torch.tensor([3.0, 1.0], dtype=torch.float64) ** 2) @ R2.T + 0.3 * torch.eye(2, dtype=torch.float64)
    inv = torch.linalg.inv(cov)
    a, b, c = proj.conics[0, 0].tolist()
    assert torch.allclose(torch.tensor([a, b, c], dtype=torch.float64), torch.stack([inv[0, 0], inv[0, 1], inv[1, 1]]))
    # opacity-aware per-axis radii (gsplat 1.5.x): ceil(min(3.33, sqrt(2 ln(255 o))) * sqrt(cov_ii))
    k = min(3.33, math.sqrt(2 * math.log(255 * 0.9)))
    assert proj.radii[0, 0].tolist() == [math.ceil(k * math.sqrt(cov[0, 0])), math.ceil(k * math.sqrt(cov[1, 1]))]


# --------------------------------------------------------------------------------------------- compositing rules


def test_depth_order_nearer_colour_dominates_and_swaps():
    cams = _front_camera(cx=32.5, cy=32.5)
    red, blue = [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]
    near_red = _gaussians([[0.0, 0.0, 1.5], [0.0, 0.0, 2.5]], [0.03, 0.045], [0.8, 0.8], [red, blue])
    near_blue = _gaussians([[0.0, 0.0, 2.5], [0.0, 0.0, 1.5]], [0.045, 0.03], [0.8, 0.8], [red, blue])
    c1 = render(near_red, cams).rgb[0, 32, 32]
    c2 = render(near_blue, cams).rgb[0, 32, 32]
    assert c1[0] > 3 * c1[2] and c1[0] == pytest.approx(0.8, abs=1e-3) and c1[2] == pytest.approx(0.16, abs=1e-3)
    assert c2[2] > 3 * c2[0] and c2[2] == pytest.approx(0.8, abs=1e-3)
    # listing order does not matter, only depth
    perm = _gaussians([[0.0, 0.0, 2.5], [0.0, 0.0, 1.5]], [0.045, 0.03], [0.8, 0.8], [blue, red])
    assert torch.allclose(render(perm, cams).rgb, render(near_red, cams).rgb)


def test_alpha_clamp_and_exclusive_transmittance_cutoff():
    cams = _front_camera(cx=32.5, cy=32.5)
    white = [1.0, 1.0, 1.0]
    one = render(_gaussians([[0.0, 0.0, 2.0]], [0.04], [1.0], [white]), cams)
    assert one.alpha[0, 32, 32, 0].item() == pytest.approx(0.999, abs=1e-6)  # clamped, never 1
    # a second opaque Gaussian behind would take T from 1e-3 to 1e-6 <= 1e-4: it is not blended at all
    two = render(_gaussians([[0.0, 0.0, 2.0], [0.0, 0.0, 3.0]], [0.04, 0.06], [1.0, 1.0], [white, [1.0, 0.0, 0.0]]), cams)
    assert two.alpha[0, 32, 32, 0].item() == pytest.approx(0.999, abs=1e-6)
    assert two.rgb[0, 32, 32].tolist() == pytest.approx([0.999, 0.999, 0.999], abs=1e-6)
    # opacity 0.98 three times: T = 0.02, 4e-4 (kept), then 8e-6 (<= 1e-4: stop before the third)
    g3 = _gaussians([[0.0, 0.0, 2.0], [0.0, 0.0, 2.5], [0.0, 0.0, 3.0]], [0.04, 0.05, 0.06], [0.98] * 3,
                    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    o3 = render(g3, cams)
    assert o3.alpha[0, 32, 32, 0].item() == pytest.approx(1 - 4e-4, abs=1e-6)
    assert o3.rgb[0, 32, 32].tolist() == pytest.approx([0.98, 0.02 * 0.98, 0.0], abs=1e-6)


def test_background_blending():
    cams = _front_camera()
    g = _random_scene(30, seed=3)
    g.means.add_(torch.tensor([0.0, 0.0, 0.6]))
    bg = torch.tensor([0.2, 0.5, 0.9])
    plain, with_bg = render(g, cams), render(g, cams, background=bg)
    assert torch.allclose(with_bg.rgb, plain.rgb + (1 - plain.alpha) * bg, atol=1e-6)
    assert torch.equal(with_bg.alpha, plain.alpha) and torch.equal(with_bg.depth, plain.depth)
    assert torch.allclose(with_bg.rgb[0, 0, 0], bg)  # an empty corner shows the background


def test_expected_depth_two_layers():
    cams = _front_camera(cx=32.5, cy=32.5)
    z1, z2, o1, o2 = 2.0, 3.0, 0.6, 0.7
    out = render(_gaussians([[0.0, 0.0, z1], [0.0, 0.0, z2]], [0.04, 0.06], [o1, o2], [[1.0, 1.0, 1.0]] * 2), cams)
    w1, w2 = o1, o2 * (1 - o1)
    assert out.depth[0, 32, 32, 0].item() == pytest.approx((w1 * z1 + w2 * z2) / (w1 + w2), rel=1e-6)
    assert out.alpha[0, 32, 32, 0].item() == pytest.approx(w1 + w2, abs=1e-6)


def test_near_far_culling():
    cams = _front_camera()
    g = _gaussians([[0.0, 0.0, 0.005]], [0.001], [0.9], [[1.0, 1.0, 1.0]])
    assert render(g, cams).alpha.max() == 0  # in front of the default near plane (0.01)
    g2 = _gaussians([[0.0, 0.0, 5.0]], [0.05], [0.9], [[1.0, 1.0, 1.0]])
    assert render(g2, cams).alpha.max() > 0.5
    assert render(g2, cams, far=4.0).alpha.max() == 0


# --------------------------------------------------------------------------------------------- oracle comparison


def _oracle(g: Gaussians3D, cams: Cameras, bg):
    """Naive per-pixel sequential compositing in float64 (loop over depth-sorted Gaussians), with gsplat's tile
    membership rule; projection from the reference (tested analytically above)."""
    W, H = cams.width, cams.height
    gd = Gaussians3D(*(t.double() for t in (g.means, g.quats, g.scales, g.opacities, g.colors)))
    p = project(gd.means[None], gd.quats[None], gd.scales[None], gd.opacities[None], gd.colors[None],
                cams.world_to_cam.double(), cams.K.double(), W, H)
    jj, ii = torch.meshgrid(torch.arange(W, dtype=torch.float64), torch.arange(H, dtype=torch.float64), indexing="xy")
    px, py = jj + 0.5, ii + 0.5
    tx, ty = torch.div(jj, 16, rounding_mode="floor"), torch.div(ii, 16, rounding_mode="floor")
    rgbs, alphas, depths = [], [], []
    for c in range(len(cams)):
        T = torch.ones(H, W, dtype=torch.float64)
        done = torch.zeros(H, W, dtype=torch.bool)
        rgb = torch.zeros(H, W, 3, dtype=torch.float64)
        dep = torch.zeros(H, W, dtype=torch.float64)
        for n in torch.argsort(p.depths[c], stable=True).tolist():
            rx, ry = p.radii[c, n].tolist()
            if rx <= 0 or ry <= 0:
                continue
            u, v = p.means2d[c, n].tolist()
            in_tile = ((tx >= math.floor((u - rx) / 16)) & (tx < math.ceil((u + rx) / 16))
                       & (ty >= math.floor((v - ry) / 16)) & (ty < math.ceil((v + ry) / 16)))
            a, b, cc = p.conics[c, n].tolist()
            dx, dy = u - px, v - py
            sig = 0.5 * (a * dx * dx + cc * dy * dy) + b * dx * dy
            al = torch.clamp(p.opacities[c, n] * torch.exp(-sig), max=0.999)
            ok = in_tile & ~done & (sig >= 0) & (al >= 1 / 255)
            nt = T * (1 - al)
            stop = ok & (nt <= 1e-4)
            done |= stop
            ok &= ~stop
            w = torch.where(ok, al * T, torch.zeros_like(T))
            rgb += w[..., None] * p.colors[c, n]
            dep += w * p.depths[c, n]
            T = torch.where(ok, nt, T)
        alpha = 1 - T
        rgbs.append(rgb + T[..., None] * bg.double())
        alphas.append(alpha[..., None])
        depths.append((dep / alpha.clamp_min(1e-10))[..., None])
    return torch.stack(rgbs), torch.stack(alphas), torch.stack(depths)


def test_matches_sequential_oracle_with_tiles_and_cropping():
    g = _random_scene(60, seed=1)
    g.opacities.clamp_(max=0.999)
    g.opacities[:10] = 0.999  # opaque ones trigger the transmittance cut-off
    cams = orbit_cameras(torch.tensor([0.0, 70.0]), torch.tensor([5.0, -20.0]), 0.45, 35.0, 45, 38)
    bg = torch.tensor([0.1, 0.2, 0.3])
    out = render(g, cams, background=bg)
    rgb, alpha, depth = _oracle(g, cams, bg)
    assert out.rgb.shape == (2, 38, 45, 3) and out.alpha.shape == (2, 38, 45, 1)
    assert (out.rgb.double() - rgb).abs().max() < 2e-5
    assert (out.alpha.double() - alpha).abs().max() < 2e-5
    m = alpha > 0.05
    assert (out.depth.double() - depth)[m].abs().max() < 2e-5


# --------------------------------------------------------------------------------------------- gradients, batching, chunks


def test_gradcheck_float64_tiny_scene():
    dt = torch.float64
    cams = orbit_cameras(torch.tensor([10.0]), torch.tensor([5.0]), 0.5, 30.0, 8, 8)
    w2c, K = cams.world_to_cam.to(dt), cams.K.to(dt)
    means = torch.tensor([[0.004, 0.003, 0.0], [-0.01, 0.006, 0.01], [0.008, -0.008, -0.01]], dtype=dt)
    quats = torch.tensor([[0.9, 0.1, -0.2, 0.3], [0.7, -0.3, 0.2, 0.1], [1.0, 0.0, 0.1, 0.0]], dtype=dt)
    scales = torch.tensor([[0.006, 0.01, 0.004], [0.012, 0.005, 0.008], [0.007, 0.007, 0.012]], dtype=dt)
    opac = torch.tensor([0.7, 0.5, 0.85], dtype=dt)
    colors = torch.tensor([[0.9, 0.2, 0.1], [0.1, 0.8, 0.3], [0.2, 0.3, 0.9]], dtype=dt)
    bg = torch.tensor([0.3, 0.2, 0.1], dtype=dt)
    inputs = [t.clone().requires_grad_(True) for t in (means, quats, scales, opac, colors, bg, w2c)]
    wts = torch.rand(1, 8, 8, 5, generator=torch.Generator().manual_seed(0), dtype=dt)

    def f(m, q, s, o, c, b, v):
        rgb, alpha, depth = render_reference(m[None], q[None], s[None], o[None], c[None], v, K, 8, 8, b)
        return (torch.cat([rgb, alpha, depth * alpha], -1) * wts).sum(dim=(1, 2))

    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-4)


def test_batched_equals_per_frame():
    gb = _random_scene(80, seed=2, batch=3)
    cams = orbit_cameras(torch.tensor([-40.0, 0.0, 40.0]), torch.tensor([0.0, 10.0, -5.0]), 0.5, 30.0, 40, 32)
    out = render(gb, cams, background=torch.tensor([0.0, 0.0, 1.0]))
    assert out.rgb.shape == (3, 32, 40, 3)
    for b in range(3):
        single = render(gb.frame(b), cams[b], background=torch.tensor([0.0, 0.0, 1.0]))
        assert torch.allclose(out.rgb[b], single.rgb[0], atol=1e-6)
        assert torch.allclose(out.alpha[b], single.alpha[0], atol=1e-6)
        assert torch.allclose(out.depth[b], single.depth[0], atol=1e-5)
    # unbatched Gaussians + C cameras = C images of the same scene
    many = render(gb.frame(0), cams)
    assert many.rgb.shape == (3, 32, 40, 3)
    assert torch.allclose(many.rgb[0], render(gb.frame(0), cams[0]).rgb[0], atol=1e-6)


def test_chunking_invariance():
    g = _random_scene(400, seed=4)
    g.means.mul_(0.6)  # a crowded scene: long per-tile lists
    cams = orbit_cameras(torch.tensor([20.0]), torch.tensor([0.0]), 0.4, 30.0, 48, 48)
    args = (g.means[None], g.quats[None], g.scales[None], g.opacities[None], g.colors[None], cams.world_to_cam, cams.K, 48, 48)
    ref = render_reference(*args)
    rgb, alpha, _ = _oracle(g, cams, torch.zeros(3))
    assert float(alpha.max()) > 1 - 1e-3  # deep pixels: the transmittance cut-off is exercised
    assert (ref[0].double() - rgb).abs().max() < 5e-5 and (ref[1].double() - alpha).abs().max() < 5e-5
    # 1-Gaussian steps, odd steps, several tiles per batch, one step per list
    for max_el, seg in ((256, 128), (256 * 7, 128), (1 << 16, 5), (1 << 16, 128), (1 << 22, 10_000)):
        other = render_reference(*args, max_elements=max_el, seg_len=seg)
        for a, b in zip(ref, other):
            assert torch.allclose(a, b, atol=2e-6), (max_el, seg)


def test_gradients_reach_every_field():
    g = _random_scene(50, seed=5)
    for t in (g.means, g.quats, g.scales, g.opacities, g.colors):
        t.requires_grad_(True)
    cams = orbit_cameras(torch.tensor([0.0, 90.0]), torch.tensor([0.0, 0.0]), 0.5, 30.0, 32, 32)
    out = render(g, cams)
    (out.rgb.sum() + out.alpha.sum() + (out.depth * out.alpha).sum()).backward()
    for t in (g.means, g.quats, g.scales, g.opacities, g.colors):
        assert t.grad is not None and torch.isfinite(t.grad).all() and t.grad.abs().sum() > 0


# --------------------------------------------------------------------------------------------- errors


def test_bad_inputs_raise_gasp_input_error():
    cams = _front_camera(16, 16)
    good = _random_scene(5)
    bad = [
        lambda: render(Gaussians3D(good.means[:, :2], good.quats, good.scales, good.opacities, good.colors), cams),
        lambda: render(Gaussians3D(good.means, good.quats[:, :3], good.scales, good.opacities, good.colors), cams),
        lambda: render(Gaussians3D(good.means, good.quats, good.scales, good.opacities[:4], good.colors), cams),
        lambda: render(Gaussians3D(good.means.clone().fill_(float("nan")), good.quats, good.scales, good.opacities, good.colors), cams),
        lambda: render(Gaussians3D(good.means, good.quats, -good.scales, good.opacities, good.colors), cams),
        lambda: render(Gaussians3D(good.means, good.quats, good.scales, good.opacities + 2, good.colors), cams),
        lambda: render(_random_scene(5, batch=2), cams),  # 2 frames, 1 camera
        lambda: render(good, cams, background=torch.zeros(4)),
        lambda: render(good, cams, background=torch.tensor([0.0, float("inf"), 0.0])),
        lambda: render(good, cams, backend="optix"),
        lambda: render(good, cams, near=0.0),
        lambda: render(good, "camera"),
    ]
    for i, call in enumerate(bad):
        with pytest.raises(GaspInputError) as info:
            call()
        assert "\n" not in str(info.value), i


def test_gsplat_backend_on_cpu_is_a_clear_error():
    with pytest.raises(GaspUnavailableError, match="CUDA"):
        render(_random_scene(5), _front_camera(16, 16), backend="gsplat")


def test_auto_backend_on_cpu_uses_reference():
    g, cams = _random_scene(20), orbit_cameras(torch.tensor([0.0]), torch.tensor([0.0]), 0.5, 30.0, 24, 24)
    a, b = render(g, cams, backend="auto"), render(g, cams, backend="reference")
    assert torch.equal(a.rgb, b.rgb)
