"""FastPoser's CPU paths (numba kernel and torch fallback) against the reference ``gasp_ops.avatar.pose``:
random avatar on the procedural head, neutral and after a non-trivial head pose (rotation, neck, jaw,
translation), batched and unbatched."""

import pytest
import torch

from gasp_ops.avatar import GaussianAvatar, pose
from gasp_ops.binding.uv_init import uv_binding
from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.pose import HeadPose
from gasp_ops.runtime import FastPoser
from gasp_ops.runtime import posing as posing_mod

HAS_NUMBA = posing_mod.numba_backend() is not None


@pytest.fixture(scope="module")
def avatar(head):
    base = GaussianAvatar.from_binding(head.topology, uv_binding(head.topology, 64), head.template)
    g = torch.Generator().manual_seed(3)
    n = base.count
    return GaussianAvatar(faces=base.faces, face_ids=base.face_ids, barycentrics=base.barycentrics,
                          offsets=0.3 * torch.randn(n, 3, generator=g),
                          log_scales=base.log_scales + 0.2 * torch.randn(n, 3, generator=g),
                          quats=torch.randn(n, 4, generator=g), colors=torch.rand(n, 3, generator=g),
                          opacity_logits=torch.randn(n, generator=g))


@pytest.fixture(scope="module")
def verts(head):
    g = torch.Generator().manual_seed(4)
    B = 3
    p = HeadPose.zeros(B)
    p.rotation = torch.tensor([[0.0, 0.0, 0.0], [0.3, -0.6, 0.2], [-0.4, 1.2, -0.3]])
    p.neck = torch.tensor([[0.0, 0.0, 0.0], [0.2, 0.3, 0.0], [-0.1, -0.4, 0.2]])
    p.jaw = torch.tensor([[0.0, 0.0, 0.0], [0.25, 0.0, 0.0], [0.15, 0.05, 0.0]])
    p.translation = torch.tensor([[0.0, 0.0, 0.0], [0.05, -0.02, 0.3], [-0.1, 0.04, -0.2]])
    with torch.no_grad():
        return head(0.5 * torch.randn(B, head.n_identity, generator=g),
                    0.5 * torch.randn(B, head.n_expression, generator=g), p)


def _check(fast, ref, o):
    assert (fast.means - ref.means[..., o, :]).abs().max() < 1e-5
    assert torch.allclose(fast.scales, ref.scales[..., o, :], rtol=1e-5, atol=1e-9)
    qr = torch.nn.functional.normalize(ref.quats[..., o, :], dim=-1)
    err = torch.minimum((fast.quats - qr).abs().amax(-1), (fast.quats + qr).abs().amax(-1))
    assert err.max() < 1e-5
    assert torch.allclose(fast.colors, ref.colors[..., o, :]) and torch.allclose(fast.opacities, ref.opacities[..., o])


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_fast_poser_matches_reference(head, avatar, verts, backend):
    if backend == "numba" and not HAS_NUMBA:
        pytest.skip("numba not installed (or GASP_NO_NUMBA set): torch fallback only")
    poser = FastPoser(avatar, backend=backend)
    assert poser.backend_used == backend
    ref = pose(avatar, verts)
    o = poser.order
    fast = poser(verts)  # batched [3, N]: rest, posed, strongly posed
    assert fast.means.shape == (3, avatar.count, 3) and fast.quats.dtype == torch.float32
    _check(fast, ref, o)
    one = poser(verts[2])  # unbatched, the strongly posed frame
    assert one.means.shape == (avatar.count, 3)
    _check(one, ref.frame(2), o)
    # the strongly posed frame really moved the Gaussians (the check above is not trivially the rest pose)
    assert (ref.means[2] - ref.means[0]).norm(dim=-1).median() > 0.05


@pytest.mark.skipif(not HAS_NUMBA, reason="numba not installed")
def test_numba_outputs_and_fallback(head, avatar, verts, monkeypatch):
    fresh = FastPoser(avatar)
    assert fresh.backend_used == "numba"  # the default on the CPU in float32
    a, b = fresh(verts[1]), fresh(verts[2])
    assert not torch.equal(a.means, b.means)  # default: each call returns its own tensors
    reuse = FastPoser(avatar, reuse_outputs=True)
    c = reuse(verts[1])
    ptr = c.means.data_ptr()
    d = reuse(verts[2])
    assert d.means.data_ptr() == ptr and torch.equal(d.means, b.means)  # same buffer, overwritten
    with pytest.raises(GaspInputError):
        fresh(verts[0, :100])  # too few vertices for the faces: refused (the kernel does not bounds-check)
    assert FastPoser(avatar, dtype=torch.float64).backend_used == "torch"
    monkeypatch.setenv("GASP_NO_NUMBA", "1")
    fallback = FastPoser(avatar)
    assert fallback.backend_used == "torch"
    _check(fallback(verts), pose(avatar, verts), fallback.order)
    with pytest.raises(RuntimeError):
        FastPoser(avatar, backend="numba")
