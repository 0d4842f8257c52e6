"""Exports: a posed frame as a standard 3DGS PLY (read back with plyfile), turntable and re-enactment mp4s that
decode with PyAV with the right frame count."""

import numpy as np
import pytest
import torch

from gasp_ops.avatar import GaussianAvatar
from gasp_ops.binding.uv_init import uv_binding
from gasp_ops.export import (export_avatar_ply, read_ply, render_turntable, turntable_strip, write_reenactment_mp4,
                             write_turntable_mp4)
from gasp_ops.export.ply import FIELDS, SH_C0
from gasp_ops.runtime import FastPoser
from gasp_ops.synthetic import sample_expressions


@pytest.fixture(scope="module")
def avatar(head):
    base = GaussianAvatar.from_binding(head.topology, uv_binding(head.topology, 20), head.template)
    g = torch.Generator().manual_seed(0)
    colors = torch.rand(base.count, 3, generator=g)
    return GaussianAvatar(faces=base.faces, face_ids=base.face_ids, barycentrics=base.barycentrics,
                          offsets=base.offsets, log_scales=base.log_scales + 0.3, quats=base.quats, colors=colors,
                          opacity_logits=base.opacity_logits)


def test_ply_standard_fields(head, avatar, tmp_path):
    from plyfile import PlyData

    ident = torch.zeros(head.n_identity)
    expr = 0.5 * torch.ones(head.n_expression)
    path = export_avatar_ply(tmp_path / "frame.ply", avatar, head, ident, expr, frame="head")  # values as posed
    ply = PlyData.read(str(path))
    v = ply["vertex"]
    assert [p.name for p in v.properties] == list(FIELDS) and v.count == avatar.count
    assert all(p.val_dtype in ("f4", "float32", "float") for p in v.properties)
    with torch.no_grad():
        g = FastPoser(avatar)(head(ident[None], expr[None])[0])
    assert np.allclose(v["x"], g.means[:, 0].numpy(), atol=1e-6)
    assert np.allclose(v["f_dc_1"], (g.colors[:, 1].numpy() - 0.5) / SH_C0, atol=1e-5)
    assert np.allclose(v["opacity"], np.log(0.95 / 0.05), atol=1e-4)  # logit of the opacity
    assert np.allclose(v["scale_2"], np.log(g.scales[:, 2].numpy()), atol=1e-5)  # log scale
    q = np.stack([v[f"rot_{i}"] for i in range(4)], -1)
    assert np.allclose(np.linalg.norm(q, axis=-1), 1.0, atol=1e-5)
    back = read_ply(path)
    assert torch.allclose(back.colors, g.colors, atol=1e-5) and torch.allclose(back.scales, g.scales, rtol=1e-5)


def _decode(path):
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(s)]
        return frames, s.codec_context.name, s.codec_context.pix_fmt


def test_turntable_and_reenactment_mp4(head, avatar, tmp_path):
    ident = torch.zeros(head.n_identity)
    path = write_turntable_mp4(tmp_path / "turn.mp4", avatar, head, ident, n_frames=12, image_size=48, fps=12)
    frames, codec, pix = _decode(path)
    assert len(frames) == 12 and frames[0].shape == (48, 48, 3) and codec == "h264" and pix == "yuv420p"
    direct = render_turntable(avatar, head, ident, n_frames=12, image_size=48)
    assert np.abs(frames[3].astype(float) - direct[3]).mean() < 6.0  # the video shows the rendered frames
    assert np.abs(direct[0].astype(float) - direct[6]).mean() > 1.0  # front and back differ: it turns
    # self / cross-identity re-enactment: a 3DMM sequence drives this avatar with its (or another's) identity
    expr, pose = sample_expressions(range(7), 5, head)
    for name, idn in (("self", ident), ("cross", 0.5 * torch.ones(head.n_identity))):
        p = write_reenactment_mp4(tmp_path / f"{name}.mp4", avatar, head, idn, expr, pose, image_size=33)
        frames, _, _ = _decode(p)
        assert len(frames) == 7 and frames[0].shape == (34, 34, 3)  # odd sizes padded for yuv420p
    strip = turntable_strip(avatar, head, ident, image_size=24)
    assert strip.shape == (24, 96, 3) and strip.dtype == np.uint8
    assert not list(tmp_path.glob(".*"))  # atomic writes leave no temporaries
