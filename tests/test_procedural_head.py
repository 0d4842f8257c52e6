"""ProceduralHead: geometry, UV layout, bases, skinning, landmarks, regions, batching and input errors."""

import numpy as np
import pytest
import torch

from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel import HeadPose, REGIONS
from gasp_ops.headmodel.procedural import EXPRESSION_NAMES, ProceduralHead, uv_statistics


@pytest.fixture(scope="module")
def head():
    return ProceduralHead()


def _np(t):
    return t.detach().double().numpy()


def test_size_and_proportions(head):
    V = head.num_vertices
    assert 5000 <= V <= 15000
    v = _np(head.template)
    ext = v.max(0) - v.min(0)
    assert 0.14 < ext[0] < 0.20  # width incl. ears
    head_only = v[v[:, 1] > -0.09]
    width_no_ears = head_only[np.abs(head_only[:, 2] - 0.03) < 0.01][:, 0]
    assert 0.13 < np.ptp(width_no_ears) < 0.17
    face = v[np.abs(v[:, 0]) < 0.01]
    chin = face[face[:, 2] > 0.05][:, 1].min()
    assert 0.21 < v[:, 1].max() - chin < 0.25  # chin to crown
    assert head.name == "procedural"


def test_watertight_and_outward(head):
    f = head.topology.faces.numpy()
    e = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), 1)
    _, counts = np.unique(e, axis=0, return_counts=True)
    assert (counts == 2).all()
    # Consistent orientation: every directed edge appears exactly once.
    d = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    assert len(np.unique(d, axis=0)) == len(d)
    v = _np(head.template)
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    vol = np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0
    assert 0.003 < vol < 0.006  # ~4 litres of head and neck
    assert len(np.unique(f)) == len(v)


def test_uv_layout(head):
    top = head.topology
    uv = top.uvs.double().numpy()
    uf = top.uv_faces.numpy()
    assert uv.min() >= 0.0 and uv.max() <= 1.0
    st = uv_statistics(_np(head.template), top.faces.numpy(), uv, uf)
    assert st["min_uv_area"] > 0  # no flipped triangle
    assert st["coverage"] > 0.55
    assert st["distortion_spread"] < 4.0
    assert st["worst_stretch"] < 20.0
    # No overlap: sample a 512^2 grid of texel centres, each may fall in at most one triangle.
    n = 512
    g = (np.arange(n) + 0.5) / n
    count = np.zeros((n, n), dtype=np.int32)
    tri = uv[uf]
    for t in tri:
        lo = np.floor(t.min(0) * n - 0.5).astype(int).clip(0, n - 1)
        hi = np.ceil(t.max(0) * n - 0.5).astype(int).clip(0, n - 1)
        if (hi < lo).any():
            continue
        xs, ys = np.meshgrid(g[lo[0]:hi[0] + 1], g[lo[1]:hi[1] + 1], indexing="xy")
        p = np.stack([xs, ys], -1)
        a, b, c = t
        den = (b[1] - c[1]) * (a[0] - c[0]) + (c[0] - b[0]) * (a[1] - c[1])
        l1 = ((b[1] - c[1]) * (p[..., 0] - c[0]) + (c[0] - b[0]) * (p[..., 1] - c[1])) / den
        l2 = ((c[1] - a[1]) * (p[..., 0] - c[0]) + (a[0] - c[0]) * (p[..., 1] - c[1])) / den
        inside = (l1 > 1e-9) & (l2 > 1e-9) & (1 - l1 - l2 > 1e-9)
        count[lo[1]:hi[1] + 1, lo[0]:hi[0] + 1] += inside
    assert count.max() <= 1
    assert 0.5 < (count > 0).mean() < 0.8


def test_basis_sizes_and_determinism(head):
    assert head.n_identity >= 50 and head.n_expression >= 20
    assert len(EXPRESSION_NAMES) == head.n_expression == len(set(EXPRESSION_NAMES))
    assert len(set(head.identity_names)) == head.n_identity
    from gasp_ops.headmodel.procedural.model import build_arrays

    build_arrays.cache_clear()
    other = ProceduralHead()
    for name in ("template", "identity_basis", "expression_basis", "joint_regressor", "skin_weights"):
        assert torch.equal(getattr(head, name), getattr(other, name)), name
    assert torch.equal(head.topology.uvs, other.topology.uvs)
    small = ProceduralHead(n_identity=10, n_expression=5)
    assert small.identity_basis.shape == (head.num_vertices, 3, 10)
    assert small.expression_basis.shape == (head.num_vertices, 3, 5)


@pytest.mark.parametrize("basis", ["identity_basis", "expression_basis"])
def test_bases_smooth_nonzero_distinct(head, basis):
    B = _np(getattr(head, basis))  # [V, 3, K]
    K = B.shape[-1]
    mag = np.linalg.norm(B, axis=1).max(0)
    assert (mag > 5e-4).all() and (mag < 0.02).all()  # 0.5 mm .. 2 cm per unit
    flat = B.reshape(-1, K)
    unit = flat / np.linalg.norm(flat, axis=0, keepdims=True)
    cos = unit.T @ unit
    assert (cos - np.eye(K)).max() < 0.97  # no two columns (nearly) the same
    # Smooth: displacement differences across edges are small compared with the edge lengths.
    f = head.topology.faces.numpy()
    v = _np(head.template)
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]]])
    elen = np.linalg.norm(v[e[:, 0]] - v[e[:, 1]], axis=1)
    grad = np.linalg.norm(B[e[:, 0]] - B[e[:, 1]], axis=1) / elen[:, None]
    limit = 1.0 if basis == "identity_basis" else 2.5
    assert grad.max() < limit


def test_small_coefficients_small_change(head):
    torch.manual_seed(0)
    ident = torch.randn(2, head.n_identity)
    expr = torch.rand(2, head.n_expression)
    base = head(torch.zeros(2, head.n_identity), torch.zeros(2, head.n_expression))
    d1 = (head(1e-3 * ident, 1e-3 * expr) - base).norm(dim=-1).max()
    d2 = (head(1e-2 * ident, 1e-2 * expr) - base).norm(dim=-1).max()
    assert d1 < 1e-4 and d2 < 1e-3
    assert torch.allclose(d2, 10 * d1, rtol=1e-3)
    big = head(3 * ident, torch.zeros(2, head.n_expression))
    ext = big.max(1).values - big.min(1).values
    assert (ext[:, 1] > 0.25).all() and (ext[:, 0] < 0.23).all()


def test_rows_sum_to_one(head):
    assert torch.allclose(head.joint_regressor.sum(1), torch.ones(5), atol=1e-5)
    assert torch.allclose(head.skin_weights.sum(1), torch.ones(head.num_vertices), atol=1e-5)
    assert (head.skin_weights >= 0).all()
    j = head.joint_regressor @ head.template
    assert j[3, 0] > 0 and j[4, 0] < 0  # eye_left is on +x
    assert (head.skin_weights[:, 3] > 0.5).sum() > 5 and (head.skin_weights[:, 4] > 0.5).sum() > 5


def test_jaw_opening(head):
    pose = HeadPose.zeros(1)
    pose.jaw[0, 0] = 0.3
    zi, ze = torch.zeros(1, head.n_identity), torch.zeros(1, head.n_expression)
    rest, opened = head(zi, ze)[0], head(zi, ze, pose)[0]
    lm_rest, lm_open = head.landmarks(rest[None])[0], head.landmarks(opened[None])[0]
    assert lm_open[8, 1] < lm_rest[8, 1] - 0.01  # chin drops by > 1 cm
    assert lm_open[57, 1] < lm_rest[57, 1] - 0.008  # lower lip follows
    assert (lm_open[51] - lm_rest[51]).norm() < 0.002  # upper lip stays
    scalp = head.topology.faces[head.topology.region_mask("scalp")].unique()
    assert (opened[scalp] - rest[scalp]).norm(dim=-1).max() < 1e-5
    # The neck joint turns the head but not the base of the neck.
    pose = HeadPose.zeros(1)
    pose.neck[0, 1] = 0.4
    turned = head(zi, ze, pose)[0]
    bottom = rest[:, 1] < -0.165
    assert (turned[bottom] - rest[bottom]).norm(dim=-1).max() < 1e-4
    assert (turned[scalp] - rest[scalp]).norm(dim=-1).max() > 0.02


def test_expressions_move_the_right_parts(head):
    zi = torch.zeros(1, head.n_identity)
    rest = head.landmarks(head.template[None])[0]

    def lm(name):
        e = torch.zeros(1, head.n_expression)
        e[0, head.expression_index(name)] = 1.0
        return head.landmarks(head(zi, e))[0]

    s = lm("smile_left")
    assert s[54, 1] > rest[54, 1] + 0.004 and abs(s[48, 1] - rest[48, 1]) < 0.002
    b = lm("blink_left")
    gap_rest = rest[[43, 44], 1].mean() - rest[[46, 47], 1].mean()
    gap = b[[43, 44], 1].mean() - b[[46, 47], 1].mean()
    assert gap < 0.4 * gap_rest
    r = lm("brow_inner_raise")
    assert r[21, 1] > rest[21, 1] + 0.003


def test_landmarks_plausible(head):
    lm = _np(head.landmarks(head.template[None])[0])
    central = np.abs(lm[:, 0]) < 0.02
    assert np.argmax(np.where(central, lm[:, 2], -1)) == 30
    assert lm[36, 0] < 0 < lm[45, 0] and lm[0, 0] < 0 < lm[16, 0]
    assert lm[17, 0] < lm[21, 0] < 0 < lm[22, 0] < lm[26, 0]
    assert lm[48, 0] < lm[54, 0] and lm[31, 0] < lm[35, 0]
    eyes_y, nose_y, mouth_y = lm[36:48, 1].mean(), lm[30:36, 1].mean(), lm[48:68, 1].mean()
    assert mouth_y < nose_y < eyes_y < lm[17:27, 1].mean()
    assert lm[8, 1] == lm[:, 1].min()
    assert lm[62, 1] > lm[66, 1] - 1e-4
    v = _np(head.template)
    assert np.linalg.norm(lm[:, None] - v[None], axis=-1).min(1).max() < 0.01  # on the surface


def test_regions(head):
    reg = head.topology.face_regions.numpy()
    assert set(np.unique(reg)) == set(range(len(REGIONS)))
    f = head.topology.faces.numpy()
    c = _np(head.template)[f].mean(1)
    scalp = c[reg == REGIONS.index("scalp")]
    assert scalp[:, 1].max() > 0.12 and scalp[:, 2].min() < -0.09  # top and back
    ears = c[reg == REGIONS.index("ears")]
    assert np.abs(ears[:, 0]).min() > 0.05
    neck = c[reg == REGIONS.index("neck")]
    assert neck[:, 1].max() < -0.04


def test_batched_differentiable(head):
    B = 3
    ident = torch.randn(B, head.n_identity, requires_grad=True)
    expr = torch.rand(B, head.n_expression, requires_grad=True)
    pose = HeadPose.zeros(B)
    for k in ("rotation", "neck", "jaw", "eyes", "translation"):
        setattr(pose, k, (0.1 * torch.randn_like(getattr(pose, k))).requires_grad_(True))
    out = head(ident, expr, pose)
    assert out.shape == (B, head.num_vertices, 3)
    head.landmarks(out).sum().backward()
    for t in (ident, expr, pose.rotation, pose.jaw, pose.neck, pose.translation):
        assert t.grad is not None and t.grad.abs().sum() > 0
    one = head(ident[1:2].detach(), expr[1:2].detach(), HeadPose(**{k: v[1:2].detach() for k, v in pose.as_dict().items()}))
    assert torch.allclose(one[0], out[1].detach(), atol=1e-6)


def test_input_errors(head):
    with pytest.raises(GaspInputError, match="identity"):
        head(torch.zeros(2, head.n_identity + 1), torch.zeros(2, head.n_expression))
    with pytest.raises(GaspInputError, match="expression"):
        head(torch.zeros(2, head.n_identity), torch.zeros(3, head.n_expression))
    with pytest.raises(GaspInputError, match="pose.jaw"):
        pose = HeadPose.zeros(2)
        pose.jaw = torch.zeros(2, 4)
        head(torch.zeros(2, head.n_identity), torch.zeros(2, head.n_expression), pose)
    for kwargs, name in (({"n_identity": 0}, "n_identity"), ({"n_identity": 1000}, "n_identity"),
                         ({"n_expression": 2.5}, "n_expression"), ({"resolution": 3}, "resolution"),
                         ({"resolution": "high"}, "resolution")):
        with pytest.raises(GaspInputError, match=name):
            ProceduralHead(**kwargs)
