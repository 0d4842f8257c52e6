"""FlameHead on small FLAME-format fixture files (see tests/flame_fixture.py); no real FLAME model needed."""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flame_fixture import FakeCh, dump_protocol2, make_flame_arrays, write_flame_fixture  # noqa: E402

from gasp_ops.errors import GaspInputError  # noqa: E402
from gasp_ops.headmodel.flame import FlameHead  # noqa: E402
from gasp_ops.headmodel.pose import HeadPose  # noqa: E402
from gasp_ops.headmodel.topology import REGIONS  # noqa: E402
from gasp_ops.io.obj_uv import read_obj_uv  # noqa: E402
from gasp_ops.io.restricted_pickle import load_npy_object, load_pickle, loads_restricted  # noqa: E402

VARIANTS = ["2020", "2023", "2020-py2"]
ORDER = ("rotation", "neck", "jaw", "eyes", "translation")  # flame_numpy's pose argument order


@pytest.fixture(scope="module", params=VARIANTS)
def fx(request, tmp_path_factory):
    return write_flame_fixture(tmp_path_factory.mktemp(f"flame{request.param}"), request.param)


@pytest.fixture(scope="module")
def fx2020(tmp_path_factory):
    return write_flame_fixture(tmp_path_factory.mktemp("flame2020_only"), "2020")


def _full(fx, **kw) -> FlameHead:
    return FlameHead(fx.model_path, fx.uv_obj_path, fx.masks_path, fx.landmark_path, **kw)


# ------------------------------------------------------------------------------------------------ reference


def _rodrigues(aa: np.ndarray) -> np.ndarray:
    theta = np.linalg.norm(aa)
    if theta < 1e-12:
        return np.eye(3)
    k = aa / theta
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(theta) * K + (1 - np.cos(theta)) * K @ K


def flame_numpy(fx, beta, psi, rot, neck, jaw, eyes, trans):
    """Straightforward FLAME forward pass for one frame, float64, from the fixture's raw arrays."""
    n_id, n_ex = len(beta), len(psi)
    v = fx.v_template + fx.shapedirs[:, :, :n_id] @ beta + fx.shapedirs[:, :, 300:300 + n_ex] @ psi
    J = fx.J_regressor @ v
    Rs = [_rodrigues(a) for a in (rot, neck, jaw, eyes[:3], eyes[3:])]
    feat = np.concatenate([(R - np.eye(3)).ravel() for R in Rs[1:]])
    v_posed = v + fx.posedirs @ feat
    parents = {int(c): int(p) for p, c in zip(fx.kintree_table[0], fx.kintree_table[1])}
    G = [None] * 5
    for j in range(5):
        local = np.eye(4)
        local[:3, :3] = Rs[j]
        p = parents[j]
        root = p >= 5 or p < 0
        local[:3, 3] = J[j] if root else J[j] - J[p]
        G[j] = local if root else G[p] @ local
    A = np.stack(G)
    for j in range(5):
        A[j, :3, 3] -= A[j, :3, :3] @ J[j]
    T = np.einsum("vj,jab->vab", fx.weights, A)
    return np.einsum("vab,vb->va", T[:, :3, :3], v_posed) + T[:, :3, 3] + trans


def _random_inputs(B, n_id=300, n_ex=100, seed=0, scale=0.4):
    rng = np.random.default_rng(seed)
    ident = rng.normal(size=(B, n_id)) * 2
    expr = rng.normal(size=(B, n_ex)) * 2
    pose = {
        "rotation": rng.normal(size=(B, 3)) * scale,
        "translation": rng.normal(size=(B, 3)) * 0.1,
        "neck": rng.normal(size=(B, 3)) * scale,
        "jaw": rng.normal(size=(B, 3)) * scale,
        "eyes": rng.normal(size=(B, 6)) * scale,
    }
    return ident, expr, pose


def _t(a, grad=False):
    return torch.tensor(a, dtype=torch.float32, requires_grad=grad)


# ------------------------------------------------------------------------------------------------ loading


def test_loads_fixture_buffers(fx):
    m = _full(fx)
    V, F = fx.v_template.shape[0], fx.f.shape[0]
    assert m.name == "flame" and m.num_vertices == V and m.n_identity == 300 and m.n_expression == 100
    np.testing.assert_allclose(m.template.numpy(), fx.v_template, atol=1e-7)
    np.testing.assert_allclose(m.identity_basis.numpy(), fx.shapedirs[:, :, :300], atol=1e-9)
    np.testing.assert_allclose(m.expression_basis.numpy(), fx.shapedirs[:, :, 300:], atol=1e-9)
    np.testing.assert_allclose(m.joint_regressor.numpy(), fx.J_regressor, atol=1e-7)
    np.testing.assert_allclose(m.skin_weights.numpy(), fx.weights, atol=1e-7)
    assert m.pose_basis.shape == (36, V * 3)
    # pose_basis[k, 3 v + c] == posedirs[v, c, k]
    np.testing.assert_allclose(m.pose_basis.numpy().reshape(36, V, 3), fx.posedirs.transpose(2, 0, 1), atol=1e-9)
    assert torch.equal(m.topology.faces, torch.as_tensor(fx.f))
    assert m.topology.face_regions.shape == (F,)
    assert "chumpy" not in sys.modules and "chumpy.ch" not in sys.modules


def test_truncated_bases(fx2020):
    m = FlameHead(fx2020.model_path, fx2020.uv_obj_path, n_identity=10, n_expression=5)
    assert m.identity_basis.shape[-1] == 10 and m.expression_basis.shape[-1] == 5
    np.testing.assert_allclose(m.expression_basis.numpy(), fx2020.shapedirs[:, :, 300:305], atol=1e-9)
    with pytest.raises(GaspInputError, match="n_expression"):
        FlameHead(fx2020.model_path, fx2020.uv_obj_path, n_expression=101)
    with pytest.raises(GaspInputError, match="n_identity"):
        FlameHead(fx2020.model_path, fx2020.uv_obj_path, n_identity=301)


def test_rest_pose_reproduces_template(fx):
    m = _full(fx)
    out = m(torch.zeros(2, 300), torch.zeros(2, 100))
    np.testing.assert_allclose(out.numpy(), np.broadcast_to(fx.v_template, out.shape), atol=1e-6)
    out2 = m(torch.zeros(1, 300), torch.zeros(1, 100), HeadPose.zeros(1))
    np.testing.assert_allclose(out2[0].numpy(), fx.v_template, atol=1e-6)


def test_offsets_equal_basis_columns(fx2020):
    m = _full(fx2020)
    for k in (0, 7, 299):
        ident = torch.zeros(1, 300)
        ident[0, k] = 1.0
        d = (m(ident, torch.zeros(1, 100)) - m.template).detach().numpy()[0]
        np.testing.assert_allclose(d, fx2020.shapedirs[:, :, k], atol=1e-6)
    for k in (0, 42, 99):
        expr = torch.zeros(1, 100)
        expr[0, k] = 1.0
        d = (m(torch.zeros(1, 300), expr) - m.template).detach().numpy()[0]
        np.testing.assert_allclose(d, fx2020.shapedirs[:, :, 300 + k], atol=1e-6)


def test_lbs_matches_numpy_reference(fx):
    m = _full(fx)
    B = 3
    ident, expr, pose = _random_inputs(B)
    hp = HeadPose(**{k: _t(v) for k, v in pose.items()})
    out = m(_t(ident), _t(expr), hp).detach().numpy()
    for b in range(B):
        ref = flame_numpy(fx, ident[b], expr[b], *(pose[k][b] for k in ORDER))
        np.testing.assert_allclose(out[b], ref, atol=1e-5)
    # Each joint on its own (catches a wrong chain or corrective ordering that a combined pose could hide).
    for field in ("rotation", "neck", "jaw", "eyes"):
        single = {k: np.zeros_like(v) for k, v in pose.items()}
        single[field] = pose[field]
        hp = HeadPose(**{k: _t(v) for k, v in single.items()})
        out = m(_t(ident), _t(expr), hp).detach().numpy()
        ref = flame_numpy(fx, ident[0], expr[0], *(single[k][0] for k in ORDER))
        np.testing.assert_allclose(out[0], ref, atol=1e-5)
        rest = flame_numpy(fx, ident[0], expr[0], np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(6), np.zeros(3))
        assert np.abs(out[0] - rest).max() > 1e-4  # the joint really moved something


def test_gradients_flow(fx2020):
    m = _full(fx2020)
    ident, expr, pose = _random_inputs(2, seed=1)
    ident_t, expr_t = _t(ident, True), _t(expr, True)
    pose_t = {k: _t(v, True) for k, v in pose.items()}
    out = m(ident_t, expr_t, HeadPose(**pose_t))
    (out * torch.linspace(-1, 1, out.numel()).reshape(out.shape)).sum().backward()
    for name, t in [("identity", ident_t), ("expression", expr_t), *pose_t.items()]:
        assert t.grad is not None and torch.isfinite(t.grad).all(), name
        assert t.grad.abs().max() > 0, name


def test_factory_builds_flame(fx2020):
    from gasp_ops.headmodel.factory import build_head_model

    m = build_head_model("flame", str(fx2020.model_path), str(fx2020.uv_obj_path), str(fx2020.masks_path),
                         str(fx2020.landmark_path))
    assert isinstance(m, FlameHead) and m.has_landmarks


# ----------------------------------------------------------------------------------------- UVs, regions, landmarks


@pytest.mark.parametrize("shuffle", [False, True])
def test_uv_obj_aligned_with_faces(tmp_path, shuffle):
    f = write_flame_fixture(tmp_path, "2020", shuffle_obj_faces=shuffle)
    m = FlameHead(f.model_path, uv_obj_path=f.uv_obj_path)
    topo = m.topology
    assert topo.uv_faces.shape == topo.faces.shape
    corners = topo.uvs[topo.uv_faces].numpy()  # [F, 3, 2]
    np.testing.assert_allclose(corners, f.uv_corners, atol=1e-6)
    obj = read_obj_uv(f.uv_obj_path)
    assert obj.uvs.shape == (3 * len(f.f), 2) and obj.vertices.shape == f.v_template.shape
    if not shuffle:
        assert np.array_equal(obj.faces, f.f)


def test_obj_reader_is_strict(tmp_path):
    p = tmp_path / "bad.obj"
    p.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nvt 0 0\nf 1/1 2/1 3/1 4/1\n")
    with pytest.raises(GaspInputError, match="line 6.*triangles only"):
        read_obj_uv(p)
    p.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nf 1 2 3\n")
    with pytest.raises(GaspInputError, match="no UV index"):
        read_obj_uv(p)
    p.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nf 1/1 2/1 9/1\n")
    with pytest.raises(GaspInputError, match="out of range"):
        read_obj_uv(p)
    p.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nf -3/1 -2/2 -1/2\n")
    obj = read_obj_uv(p)
    assert obj.faces.tolist() == [[0, 1, 2]] and obj.uv_faces.tolist() == [[0, 1, 1]]


def test_uv_fallback_without_obj(fx2020, caplog):
    with caplog.at_level("WARNING"):
        m = FlameHead(fx2020.model_path)
    assert any("UV" in r.getMessage() for r in caplog.records)
    uv = m.topology.uvs
    assert uv.min() >= 0 and uv.max() <= 1 and m.topology.uv_faces.max() < uv.shape[0]
    # No fallback face wraps around the seam (a wrapped face would span nearly the whole width; faces at the
    # poles of the cylinder may span up to about half of it).
    corners = uv[m.topology.uv_faces]
    assert (corners[..., 0].max(-1).values - corners[..., 0].min(-1).values).max() < 0.6


def test_masks_map_to_regions(fx2020):
    m = _full(fx2020)
    reg = m.topology.face_regions.numpy()
    f = fx2020.f
    inside = {k: np.isin(f, v).all(1) for k, v in fx2020.masks.items()}
    idx = {r: REGIONS.index(r) for r in REGIONS}
    eye_faces = inside["left_eyeball"] | inside["right_eyeball"]
    assert eye_faces.sum() == 160 and (reg[eye_faces] == idx["eyes"]).all()
    assert inside["lips"].any() and (reg[inside["lips"]] == idx["mouth"]).all()
    ears = (inside["left_ear"] | inside["right_ear"]) & ~inside["lips"]
    assert ears.any() and (reg[ears] == idx["ears"]).all()
    neck = inside["neck"] & ~ears
    assert neck.any() and (reg[neck] == idx["neck"]).all()
    face = inside["face"] & ~inside["lips"] & ~ears & ~inside["neck"]
    assert face.any() and (reg[face] == idx["face"]).all()
    scalp = inside["scalp"]
    assert scalp.any() and (reg[scalp] == idx["scalp"]).all()
    assert set(np.unique(reg)) == set(range(len(REGIONS)))
    assert m.topology.region_mask("eyes").sum() == 160


def test_region_fallback_without_masks(fx2020):
    m = FlameHead(fx2020.model_path, fx2020.uv_obj_path)
    reg = m.topology.face_regions.numpy()
    nh = fx2020.v_template.shape[0] - 84
    is_eye_face = fx2020.f.min(1) >= nh
    assert ((reg == REGIONS.index("eyes")) == is_eye_face).all()
    assert reg.min() >= 0 and reg.max() < len(REGIONS)
    assert (reg == REGIONS.index("neck")).any() and (reg == REGIONS.index("scalp")).any()


def test_landmarks_from_embedding(fx):
    m = _full(fx)
    ident, expr, pose = _random_inputs(2, seed=3)
    v = m(_t(ident), _t(expr), HeadPose(**{k: _t(x) for k, x in pose.items()}))
    lm = m.landmarks(v).detach().numpy()
    vn = v.detach().numpy()
    ref = (vn[:, fx.f[fx.lmk_faces]] * fx.lmk_bary[None, :, :, None]).sum(2)
    assert lm.shape == (2, 68, 3)
    np.testing.assert_allclose(lm, ref, atol=1e-6)


def test_landmarks_unavailable_without_file(fx2020):
    m = FlameHead(fx2020.model_path, fx2020.uv_obj_path)
    assert not m.has_landmarks
    v = m(torch.zeros(1, 300), torch.zeros(1, 100))
    with pytest.raises(GaspInputError, match="landmark_path"):
        m.landmarks(v)
    assert torch.isnan(m.topology.landmark_barycentrics).all()


# ------------------------------------------------------------------------------------------------ safety and errors


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickles_are_refused(tmp_path, fx2020):
    marker = tmp_path / "pwned"
    payloads = {
        "model.pkl": {"v_template": _Evil(marker)},
        "masks.pkl": {"scalp": _Evil(marker)},
        "nested_ch.pkl": {"shapedirs": FakeCh(_Evil(marker))},
    }
    for name, obj in payloads.items():
        p = tmp_path / name
        dump_protocol2(obj, p)
        with pytest.raises(GaspInputError) as exc:
            load_pickle(p)
        msg = str(exc.value)
        assert str(p) in msg and "system" in msg and "refused" in msg and "\n" not in msg
    # The same through FlameHead (model, masks) and a landmark .npy.
    with pytest.raises(GaspInputError, match="refused"):
        FlameHead(tmp_path / "model.pkl")
    with pytest.raises(GaspInputError, match="refused"):
        FlameHead(fx2020.model_path, fx2020.uv_obj_path, masks_path=tmp_path / "masks.pkl")
    npy = tmp_path / "lmk.npy"
    np.save(npy, {"full_lmk_faces_idx": _Evil(marker)}, allow_pickle=True)
    with pytest.raises(GaspInputError, match="refused"):
        FlameHead(fx2020.model_path, fx2020.uv_obj_path, landmark_path=npy)
    # Other classic gadgets.
    for data in (pickle.dumps(eval, protocol=2), b"cbuiltins\ngetattr\n.", b"csubprocess\nPopen\n(S'true'\ntR."):
        with pytest.raises(GaspInputError, match="refused"):
            loads_restricted(data, source="x.pkl")
    with pytest.raises(GaspInputError, match="refused _codecs.encode"):
        loads_restricted(b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x06\x00\x00\x00base64\x86R.", source="x.pkl")
    assert not marker.exists()


def test_restricted_loader_keeps_plain_data(tmp_path):
    obj = {"a": np.arange(5, dtype=np.uint32), "s": {1, 2}, "t": (1.5, "x", None), "b": b"\x00\xff", "n": np.float32(2)}
    out = loads_restricted(pickle.dumps(obj, protocol=2))
    assert out["s"] == {1, 2} and out["t"] == (1.5, "x", None) and out["b"] == b"\x00\xff" and out["n"] == 2
    np.testing.assert_array_equal(out["a"], obj["a"])
    for proto in (4, 5):
        np.testing.assert_array_equal(loads_restricted(pickle.dumps(obj["a"], protocol=proto)), obj["a"])
    p = tmp_path / "plain.npy"
    np.save(p, np.arange(4.0))
    np.testing.assert_array_equal(load_npy_object(p), np.arange(4.0))


def _write_model(path, **changes):
    arrays = make_flame_arrays()
    arrays["shapedirs"] = FakeCh(arrays["shapedirs"])
    for k, v in changes.items():
        if v is None:
            del arrays[k]
        else:
            arrays[k] = v
    dump_protocol2(arrays, path)
    return path


def _one_line_error(fn, *needles):
    with pytest.raises(GaspInputError) as exc:
        fn()
    msg = str(exc.value)
    assert "\n" not in msg
    for n in needles:
        assert str(n) in msg, (n, msg)
    return msg


def test_input_errors_name_file_and_key(tmp_path, fx2020):
    missing = tmp_path / "nope.pkl"
    _one_line_error(lambda: FlameHead(missing), missing, "not found")
    p = _write_model(tmp_path / "no_posedirs.pkl", posedirs=None)
    _one_line_error(lambda: FlameHead(p), p, "'posedirs'", "missing")
    V = fx2020.v_template.shape[0]
    p = _write_model(tmp_path / "flat_shapedirs.pkl", shapedirs=np.zeros((V, 3)))
    _one_line_error(lambda: FlameHead(p), p, "'shapedirs'")
    p = _write_model(tmp_path / "bad_posedirs.pkl", posedirs=np.zeros((V, 3, 35)))
    _one_line_error(lambda: FlameHead(p), p, "'posedirs'", "[246, 3, 35]")
    p = _write_model(tmp_path / "bad_weights.pkl", weights=np.zeros((V - 1, 5)))
    _one_line_error(lambda: FlameHead(p), p, "'weights'")
    p = _write_model(tmp_path / "bad_tree.pkl", kintree_table=np.array([[-1, 0, 1, 2, 1], [0, 1, 2, 3, 4]]))
    _one_line_error(lambda: FlameHead(p), p, "'kintree_table'", "parents")
    p = _write_model(tmp_path / "bad_faces.pkl", f=np.array([[0, 1, V]], dtype=np.uint32))
    _one_line_error(lambda: FlameHead(p), p, "'f'", "out of range")
    p = tmp_path / "not_a_dict.pkl"
    dump_protocol2([1, 2, 3], p)
    _one_line_error(lambda: FlameHead(p), p, "dict")
    p = tmp_path / "garbage.pkl"
    p.write_bytes(b"this is not a pickle")
    _one_line_error(lambda: FlameHead(p), p)
    # Auxiliary files.
    lm = tmp_path / "lmk.npy"
    np.save(lm, {"full_lmk_faces_idx": np.zeros((1, 68), dtype=np.int64)}, allow_pickle=True)
    _one_line_error(lambda: FlameHead(fx2020.model_path, fx2020.uv_obj_path, landmark_path=lm), lm,
                    "full_lmk_bary_coords")
    masks = tmp_path / "masks.pkl"
    dump_protocol2({"scalp": np.array([0, V + 5])}, masks)
    _one_line_error(lambda: FlameHead(fx2020.model_path, fx2020.uv_obj_path, masks_path=masks), masks, "'scalp'")
    obj = tmp_path / "small.obj"
    obj.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nf 1/1 2/1 3/1\n")
    _one_line_error(lambda: FlameHead(fx2020.model_path, uv_obj_path=obj), obj, "vertices")
