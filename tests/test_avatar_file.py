"""The avatar file: save -> load -> render is identical, provenance/likeness metadata, head-model reference check,
fp16 storage, tamper detection, no pickle, and the fast runtime poser matches the reference posing."""

import json

import pytest
import torch

from gasp_ops.avatar import GaussianAvatar, pose
from gasp_ops.avatar_file import LABEL, head_reference, load_avatar_file, save_avatar_file
from gasp_ops.binding.uv_init import uv_binding
from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.procedural import ProceduralHead
from gasp_ops.render.render import render
from gasp_ops.runtime import AvatarRuntime, FastPoser
from gasp_ops.synthetic import fixed_cameras


@pytest.fixture(scope="module")
def avatar(head):
    base = GaussianAvatar.from_binding(head.topology, uv_binding(head.topology, 24), head.template)
    g = torch.Generator().manual_seed(0)
    n = base.count
    return GaussianAvatar(faces=base.faces, face_ids=base.face_ids, barycentrics=base.barycentrics,
                          offsets=0.2 * torch.randn(n, 3, generator=g), log_scales=base.log_scales,
                          quats=torch.randn(n, 4, generator=g), colors=torch.rand(n, 3, generator=g),
                          opacity_logits=torch.randn(n, generator=g))


def _render(head, avatar, identity):
    cams = fixed_cameras([0.0, 120.0], [0.0, 0.0], 32, head=head)
    with torch.no_grad():
        verts = head(identity[None].expand(2, -1), 0.3 * torch.ones(2, head.n_expression))
        return render(pose(avatar, verts), cams)


def test_save_load_render_identical(head, avatar, tmp_path):
    ident = 0.5 * torch.randn(head.n_identity, generator=torch.Generator().manual_seed(1))
    path = save_avatar_file(tmp_path / "a.gasp.safetensors", avatar, ident, head, source_sha256="ab" * 32,
                            source="test", subject="subj-1", consent="synthetic", owner="acct-42",
                            fit={"steps": [1, 2, 3]})
    f = load_avatar_file(path, head)
    for k in ("faces", "face_ids", "barycentrics", "offsets", "log_scales", "quats", "colors", "opacity_logits"):
        assert torch.equal(getattr(f.avatar, k), getattr(avatar, k)), k
    assert torch.equal(f.identity, ident)
    a, b = _render(head, avatar, ident), _render(head, f.avatar, f.identity)
    assert torch.equal(a.rgb, b.rgb) and torch.equal(a.alpha, b.alpha)
    import gasp_ops

    prov = f.provenance
    assert prov["software_version"] == gasp_ops.__version__ and prov["source_sha256"] == "ab" * 32
    assert prov["likeness"] == {"subject": "subj-1", "consent": "synthetic", "owner": "acct-42", "note": ""}
    assert prov["label"] == LABEL and prov["created_utc"].endswith("+00:00")
    assert f.head_model == head_reference(head) and f.fit == {"steps": [1, 2, 3]}
    raw = path.read_bytes()
    assert b"pickle" not in raw[:2000] and raw[8:9] == b"{"  # safetensors: 8-byte header length, then JSON
    header = json.loads(raw[8:8 + int.from_bytes(raw[:8], "little")])
    assert header["gaussians.offsets"]["dtype"] == "F32" and header["binding.face_ids"]["dtype"] == "I32"


def test_fp16_is_smaller_and_close(head, avatar, tmp_path):
    ident = torch.zeros(head.n_identity)
    p32 = save_avatar_file(tmp_path / "a32.safetensors", avatar, ident, head)
    p16 = save_avatar_file(tmp_path / "a16.safetensors", avatar, ident, head, fp16=True)
    saved = p32.stat().st_size - p16.stat().st_size  # half of the 17 float attributes per Gaussian
    assert abs(saved - avatar.count * 17 * 2) < 1024, saved
    f = load_avatar_file(p16)
    assert f.dtype == "float16" and f.avatar.offsets.dtype == torch.float32
    assert (f.avatar.colors - avatar.colors).abs().max() < 1e-3
    a, b = _render(head, avatar, ident), _render(head, f.avatar, ident)
    assert (a.rgb - b.rgb).abs().mean() < 2e-3


def test_head_mismatch_tamper_and_bad_inputs(head, avatar, tmp_path):
    ident = torch.zeros(head.n_identity)
    path = save_avatar_file(tmp_path / "a.safetensors", avatar, ident, head)
    other = ProceduralHead()
    other.template = other.template + 0.001
    with pytest.raises(GaspInputError, match="template_sha256"):
        load_avatar_file(path, other)
    from gasp_ops.io.tensors import load_tensors, save_tensors

    tensors, meta = load_tensors(path)
    tensors["gaussians.colors"] = tensors["gaussians.colors"] * 0.5
    save_tensors(tmp_path / "t.safetensors", tensors, meta)
    with pytest.raises(GaspInputError, match="content hash"):
        load_avatar_file(tmp_path / "t.safetensors")
    with pytest.raises(GaspInputError, match="consent"):
        save_avatar_file(tmp_path / "b.safetensors", avatar, ident, head, consent="maybe")
    with pytest.raises(GaspInputError, match="not a GASP avatar"):
        save_tensors(tmp_path / "c.safetensors", {"x": torch.zeros(1)}, {"kind": "other"})
        load_avatar_file(tmp_path / "c.safetensors")


def test_fast_poser_and_runtime_match_reference(head, avatar):
    verts = head(torch.randn(3, head.n_identity) * 0.5, torch.randn(3, head.n_expression) * 0.5)
    ref, fast = pose(avatar, verts), FastPoser(avatar)(verts)
    o = FastPoser(avatar).order
    assert torch.allclose(fast.means, ref.means[:, o], atol=1e-6)
    assert torch.allclose(fast.scales, ref.scales[:, o], atol=1e-7)
    qr = torch.nn.functional.normalize(ref.quats[:, o], dim=-1)
    assert torch.minimum((fast.quats - qr).abs().amax(-1), (fast.quats + qr).abs().amax(-1)).max() < 1e-5
    assert torch.allclose(fast.colors, ref.colors[:, o]) and torch.allclose(fast.opacities, ref.opacities[:, o])
    rt = AvatarRuntime(head, avatar, torch.zeros(head.n_identity))
    cams = fixed_cameras([0.0], [0.0], 32, head=head)
    a = rt.render(0.3 * torch.ones(1, head.n_expression), None, cams)
    b = _render(head, avatar, torch.zeros(head.n_identity))
    assert (a.rgb[0] - b.rgb[0]).abs().max() < 1e-4
