"""The web viewer's data side: the animation bundle (round trip through ``gasp export-web``, size at the paper's
Gaussian count), JavaScript posing (web_viewer/src/posing.js under node) against gasp_ops posing, the committed
viewer build matching its sources, and the static exports read back by a real client (PlayCanvas splat-transform,
installed from web_viewer/package-lock.json): PLY in the 3DGS convention (upright: chin below crown with y down),
the compact .splat, SOG and SPZ."""

import math
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.spatial import cKDTree

from gasp_ops.avatar import ATTRIBUTES
from gasp_ops.avatar_file import load_avatar_file
from gasp_ops.errors import GaspInputError
from gasp_ops.export.frames import to_frame
from gasp_ops.export.ply import SH_C0, export_avatar_ply, read_ply, read_ply_comments
from gasp_ops.export.splat import gaussians_to_splat_records, read_splat
from gasp_ops.io.tensors import save_tensors
from gasp_ops.runtime import FastPoser
from gasp_ops.web.bundle import (BUNDLE_NAME, default_camera, frame_vertices, model_tensors, model_vertices,
                                 read_web_bundle, write_web_bundle)
from gasp_ops.web.demo import demo_avatar, write_demo_avatar
from gasp_ops.web.expressions import builtin_expressions
from pipelines.cli import main as gasp
from web_tools import WEB, ensure_node_modules, node_or_skip, read_csv_columns, splat_transform


@pytest.fixture(scope="module")
def avatar_file(head, tmp_path_factory):
    # non-trivial local attributes, so posing exercises every term
    return write_demo_avatar(tmp_path_factory.mktemp("avatar") / "avatar.safetensors", head, 24, jitter=0.3)


def test_bundle_round_trip(head, avatar_file, tmp_path):
    out = tmp_path / "site"
    assert gasp(["export-web", str(avatar_file), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [BUNDLE_NAME, "index.html", "viewer.js"]
    b = read_web_bundle(out / BUNDLE_NAME)
    f = load_avatar_file(avatar_file, head)
    for name in ATTRIBUTES:
        want = getattr(f.avatar, name)
        if name == "quats":
            want = torch.nn.functional.normalize(want, dim=-1)
        got = getattr(b.avatar, name)
        assert torch.allclose(got, want, rtol=2e-3, atol=2e-3 * float(want.abs().max())), name  # float16
    assert torch.equal(b.avatar.face_ids, f.avatar.face_ids) and torch.equal(b.avatar.faces, f.avatar.faces)
    assert torch.allclose(b.avatar.barycentrics, f.avatar.barycentrics, atol=1e-3)
    expr, pose = builtin_expressions(head)
    want_v = frame_vertices(head, f.identity, expr, pose)
    assert b.vertices.shape == want_v.shape == (240, head.num_vertices, 3)
    assert torch.allclose(b.vertices, want_v, atol=1e-6)  # the head model + 3DMM parameters, evaluated again
    assert (want_v[45] - want_v[0]).abs().max() > 5e-3  # the built-in sequence moves the face (mm)
    m = b.meta
    assert m["animation"]["form"] == "model" and torch.allclose(
        read_tensors_of(out / BUNDLE_NAME)["frames.expression"], expr)
    assert m["count"] == f.avatar.count and m["frames"] == 240 and m["fps"] == 30.0
    assert m["animation"]["source"] == "builtin" and m["avatar"]["content_sha256"] == f.provenance["content_sha256"]
    assert m["avatar"]["label"].startswith("Synthetic media")
    # a re-enactment sequence from a params file instead of the built-in expressions
    params = save_tensors(tmp_path / "seq.safetensors", {"expression": 0.5 * torch.rand(7, head.n_expression),
                                                          "jaw": torch.tensor([[0.2, 0.0, 0.0]]).repeat(7, 1)})
    assert gasp(["export-web", str(avatar_file), "--out", str(out), "--params", str(params), "--no-viewer"]) == 0
    b2 = read_web_bundle(out / BUNDLE_NAME)
    assert b2.vertices.shape[0] == 7 and b2.meta["animation"] == {"source": "params", "file": "seq.safetensors",
                                                                 "form": "model"}
    assert not (out / "index.html").exists()  # the folder was replaced as one unit
    # baked per-frame vertices instead of the head model
    assert gasp(["export-web", str(avatar_file), "--out", str(out), "--bake-vertices"]) == 0
    b3 = read_web_bundle(out / BUNDLE_NAME)
    assert b3.meta["animation"]["form"] == "vertices"
    step = (want_v.reshape(-1, 3).max(0).values - want_v.reshape(-1, 3).min(0).values) / 65535
    assert bool(((b3.vertices - want_v).abs() <= step / 2 + 1e-6).all())  # int16 quantisation, half a step


def read_tensors_of(path):
    from gasp_ops.io.tensors import load_tensors

    return load_tensors(path)[0]


def test_export_web_never_replaces_its_input(head, avatar_file, tmp_path, capsys):
    assert gasp(["export-web", str(avatar_file), "--out", str(avatar_file.parent)]) == 2
    assert "holds the input" in capsys.readouterr().err and avatar_file.is_file()
    from gasp_ops.web.bundle import export_web  # the library call refuses it too

    with pytest.raises(GaspInputError, match="contains the input"):
        export_web(avatar_file.parent, load_avatar_file(avatar_file, head), head)


def test_bundle_size_at_paper_scale(head, tmp_path):
    """~188,100 Gaussians (UV 558) + 300 frames must stay <= 30 MB, in either animation form."""
    avatar = demo_avatar(head, 558)
    # the UV layout covers 188,102 texels on the machines of earlier sessions and CI, 188,096 on an AMD EPYC (the
    # head's float32 UVs differ in the last bits, and texels on a chart's edge flip): the paper-scale size, not one
    # machine's exact count
    assert abs(avatar.count - 188_102) <= 0.001 * 188_102
    expr, pose = builtin_expressions(head, beat_frames=38)
    expr, pose = expr[:300], pose[:300]
    ident = torch.zeros(head.n_identity)
    common = {"fps": 30, "camera": default_camera(head), "animation": {"source": "builtin"}}
    baked = write_web_bundle(tmp_path / "baked.safetensors", avatar, frame_vertices(head, ident, expr, pose), **common)
    model = write_web_bundle(tmp_path / "model.safetensors", avatar, model=model_tensors(head, ident, expr, pose),
                             **common)
    per_gaussian = (3 + 3 + 4 + 3 + 1) * 2 + 4 + 3 * 2  # float16 attributes, int32 face id, float16 barycentrics
    static = avatar.count * per_gaussian + 18000 * 12
    V, E = head.num_vertices, head.n_expression
    assert abs(baked.stat().st_size - (static + 300 * V * 6)) < 1e5  # int16 x 3 per vertex per frame
    assert abs(model.stat().st_size - (static + V * 3 * (1 + E) * 4 + 10 * V * 4 + 300 * (E + 18) * 4)) < 1e5
    assert max(baked.stat().st_size, model.stat().st_size) <= 30e6
    assert model.stat().st_size < 0.5 * baked.stat().st_size  # parameters instead of vertices


@pytest.mark.parametrize("form", ["model", "model+pose_basis", "vertices"])
def test_js_posing_matches_python(head, avatar_file, tmp_path, form):
    """posing.js under node: the mesh of each frame (the head model evaluated from 3DMM parameters, or baked
    vertices decoded) and the posed Gaussians equal head(...) and FastPoser's."""
    node = node_or_skip()
    f = load_avatar_file(avatar_file, head)
    expr, pose = builtin_expressions(head)
    pose.rotation[:] = torch.tensor([0.1, -0.2, 0.05])  # every pose field in play
    pose.translation[:] = torch.tensor([0.01, -0.02, 0.03])
    pose.eyes[:] = 0.1
    frames = [0, 45, 130]  # neutral, jaw open, mouth left + neck turn
    ident = 0.5 * torch.ones(head.n_identity)  # not the mean head: the identity is folded into model.shaped
    want_v = frame_vertices(head, ident, expr[frames], pose[frames])
    if form.startswith("model"):
        kw = {"model": model_tensors(head, ident, expr[frames], pose[frames])}
        if form == "model+pose_basis":  # FLAME's pose correctives (the procedural head has none): random ones
            g = torch.Generator().manual_seed(1)
            kw["model"]["model.pose_basis"] = 1e-3 * torch.randn(36, 3 * head.num_vertices, generator=g)
            want_v = model_vertices(kw["model"])
            assert (want_v - frame_vertices(head, ident, expr[frames], pose[frames])).abs().max() > 1e-4
    else:
        kw = {"vertices": want_v}
    path = write_web_bundle(tmp_path / BUNDLE_NAME, f.avatar, fps=30, camera=default_camera(head),
                            animation={"source": "builtin"}, **kw)
    proc = subprocess.run([node, str(WEB / "tools" / "pose_frames.mjs"), str(path), str(tmp_path / "js.bin"),
                           "0", "1", "2"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    b = read_web_bundle(path)
    assert b.meta["animation"]["form"] == form.split("+")[0]
    n, V = b.avatar.count, head.num_vertices
    raw = np.fromfile(tmp_path / "js.bin", np.float32).reshape(3, 3 * V + 10 * n)
    tol = 2e-6 if form.startswith("model") else 1e-5  # metres (baked: int16 quantisation)
    assert np.abs(raw[:, :3 * V].reshape(3, V, 3) - want_v.numpy()).max() < tol
    assert torch.allclose(b.vertices, want_v, atol=tol)
    poser = FastPoser(b.avatar)
    back = torch.argsort(poser.order)  # FastPoser returns Gaussians sorted by face
    for t in range(3):
        g = poser(torch.as_tensor(raw[t, :3 * V].reshape(V, 3)))
        means, quats, scales = (x[back].numpy() for x in (g.means, g.quats, g.scales))
        quats = quats / np.linalg.norm(quats, axis=1, keepdims=True)
        o = 3 * V
        js_m, js_q = raw[t, o:o + 3 * n].reshape(n, 3), raw[t, o + 3 * n:o + 7 * n].reshape(n, 4)
        js_s = raw[t, o + 7 * n:].reshape(n, 3)
        assert np.abs(js_m - means).max() < 1e-6  # metres
        assert np.abs(js_q - quats).max() < 1e-5 and np.abs(js_s - scales).max() < 1e-6 * scales.max() + 1e-9
    assert np.abs(raw[1, 3 * V:6 * V] - raw[0, 3 * V:6 * V]).max() > 1e-3  # the frames differ


def test_viewer_build_matches_sources(tmp_path):
    """The committed gasp_viewer/static files are what `npm run build` makes from web_viewer/src."""
    node = ensure_node_modules()
    proc = subprocess.run([node, str(WEB / "build.mjs"), "--out", str(tmp_path)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    static = Path(__file__).resolve().parents[1] / "gasp_viewer" / "static"
    for name in ("index.html", "viewer.js"):
        assert (tmp_path / name).read_bytes() == (static / name).read_bytes(), \
            f"gasp_viewer/static/{name} is stale: run `cd web_viewer && npm run build` and commit it"


def _landmark_gaussians(head, avatar):
    """Indices of the Gaussians nearest the chin (iBUG landmark 8) and at the crown (highest), head frame."""
    with torch.no_grad():
        g = FastPoser(avatar)(head.template)
        lm = head.landmarks(head.template[None])[0]
    chin = int((g.means - lm[8]).norm(dim=-1).argmin())
    crown = int(g.means[:, 1].argmax())
    return g, chin, crown


def test_ply_upright_in_3dgs_convention_read_by_splat_transform(head, avatar_file, tmp_path):
    f = load_avatar_file(avatar_file, head)
    ident = f.identity
    path = export_avatar_ply(tmp_path / "head.ply", f.avatar, head, ident)  # default: 3dgs
    comments = read_ply_comments(path)
    assert any(c.startswith("gasp_frame 3dgs") for c in comments) and "gasp_units 10 per metre" in comments
    splat_transform(path, tmp_path / "head.csv")
    csv = read_csv_columns(tmp_path / "head.csv")
    mine = read_ply(path)
    xyz = np.stack([csv["x"], csv["y"], csv["z"]], -1)
    assert np.allclose(xyz, mine.means.numpy(), atol=1e-6)
    assert np.allclose(np.exp(np.stack([csv[f"scale_{i}"] for i in range(3)], -1)), mine.scales.numpy(), rtol=1e-5)
    assert np.allclose(np.stack([csv[f"f_dc_{i}"] for i in range(3)], -1) * SH_C0 + 0.5, mine.colors.numpy(), atol=1e-5)
    assert np.allclose(1 / (1 + np.exp(-csv["opacity"])), mine.opacities.numpy(), atol=1e-5)
    q = np.stack([csv[f"rot_{i}"] for i in range(4)], -1)
    assert np.allclose(np.abs((q * mine.quats.numpy()).sum(-1)), 1.0, atol=1e-5)
    # upright in the viewer convention (+y down): the chin lies below the crown; the face looks towards -z;
    # centred; 10 units per metre
    g_head, chin, crown = _landmark_gaussians(head, f.avatar)
    assert csv["y"][chin] > csv["y"][crown] + 1.0  # > 10 cm lower, in units of 0.1 m
    nose = int(g_head.means[:, 2].argmax())  # the most forward point of the face in the head frame
    assert csv["z"][nose] < np.median(csv["z"]) - 0.5
    centre = 0.5 * (xyz.min(0) + xyz.max(0))
    assert np.abs(centre).max() < 1e-4
    height = float(g_head.means[:, 1].max() - g_head.means[:, 1].min())
    assert math.isclose(xyz[:, 1].max() - xyz[:, 1].min(), 10 * height, rel_tol=1e-4)
    # the head frame stays available, in metres, untouched
    path_h = export_avatar_ply(tmp_path / "head_frame.ply", f.avatar, head, ident, frame="head")
    assert torch.allclose(read_ply(path_h).means, g_head.means, atol=1e-6)
    with pytest.raises(GaspInputError, match="frame"):
        export_avatar_ply(tmp_path / "x.ply", f.avatar, head, ident, frame="opengl")


def test_compact_exports_read_by_splat_transform(head, avatar_file, tmp_path):
    f = load_avatar_file(avatar_file, head)
    ply = export_avatar_ply(tmp_path / "a.ply", f.avatar, head, f.identity)
    spl = export_avatar_ply(tmp_path / "a.splat", f.avatar, head, f.identity)
    n = f.avatar.count
    assert spl.stat().st_size == 32 * n
    # .splat: our reader and splat-transform's agree with the quantised values we wrote
    with torch.no_grad():
        g, _ = to_frame(FastPoser(f.avatar)(head(f.identity[None], torch.zeros(1, head.n_expression))[0]))
    rec = gaussians_to_splat_records(g)
    splat_transform(spl, tmp_path / "s.csv")
    csv = read_csv_columns(tmp_path / "s.csv")
    assert np.array_equal(np.stack([csv["x"], csv["y"], csv["z"]], -1).astype(np.float32), rec["pos"])
    assert np.allclose(np.exp(np.stack([csv[f"scale_{i}"] for i in range(3)], -1)), rec["scale"], rtol=1e-5)
    assert np.allclose(np.stack([csv[f"f_dc_{i}"] for i in range(3)], -1) * SH_C0 + 0.5, rec["rgba"][:, :3] / 255,
                       atol=1e-5)
    back = read_splat(spl)
    assert torch.allclose(back.means, torch.as_tensor(rec["pos"])) and torch.allclose(
        back.opacities, torch.as_tensor(rec["rgba"][:, 3] / 255.0, dtype=torch.float32))
    # against the unquantised Gaussians (matched by position): colour / opacity within 1/510, rotation ~1/255
    order = np.lexsort(rec["pos"].T)
    ref = np.lexsort(g.means.numpy().T)
    assert np.allclose(back.colors.numpy()[order], g.colors.numpy()[ref], atol=1 / 510 + 1e-6)
    dots = np.abs((back.quats.numpy()[order] * torch.nn.functional.normalize(g.quats, dim=-1).numpy()[ref]).sum(-1))
    assert dots.min() > 0.999
    # SOG and SPZ written by splat-transform from our PLY and read back: lossy, but the same head
    mine = read_ply(ply).means.numpy()
    extent = float((mine.max(0) - mine.min(0)).max())
    for fmt in ("sog", "spz"):
        splat_transform(ply, tmp_path / f"a.{fmt}")
        splat_transform(tmp_path / f"a.{fmt}", tmp_path / f"{fmt}.csv")
        back = read_csv_columns(tmp_path / f"{fmt}.csv")
        xyz = np.stack([back["x"], back["y"], back["z"]], -1)
        assert xyz.shape == mine.shape
        err = max(cKDTree(mine).query(xyz)[0].max(), cKDTree(xyz).query(mine)[0].max())  # both ways: same cloud
        assert err < 0.005 * extent, (fmt, err)


def test_gasp_view_serves_the_page_on_localhost(avatar_file, tmp_path):
    import sys
    import urllib.request

    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "view", str(avatar_file), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # "serving DIR at http://127.0.0.1:PORT/ (Ctrl-C to stop)"
        assert " at http://127.0.0.1:" in line, line + proc.stderr.read() if proc.poll() is not None else line
        url = line.split(" at ")[1].split()[0]
        page = urllib.request.urlopen(url, timeout=30).read().decode()
        assert '<script src="viewer.js">' in page and 'id="scrub"' in page and 'id="turntable"' in page
        raw = urllib.request.urlopen(url + BUNDLE_NAME, timeout=30).read()
        (tmp_path / BUNDLE_NAME).write_bytes(raw)
        assert read_web_bundle(tmp_path / BUNDLE_NAME).meta["frames"] == 240
        assert len(urllib.request.urlopen(url + "viewer.js", timeout=30).read()) > 10_000
    finally:  # the test is about serving; a server that outlives SIGTERM (seen once on a fresh clone) is killed
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def test_view_command_for_asset_metadata():
    from types import SimpleNamespace

    from gasp_ops.web.server import view_command

    assert view_command("/d/avatars/900/monocular/avatar.safetensors") == \
        "gasp view /d/avatars/900/monocular/avatar.safetensors"
    flame = SimpleNamespace(kind="flame", flame_model_path="/m/flame 2023.pkl", flame_uv_path=None,
                            flame_masks_path="/m/masks.pkl", flame_landmarks_path=None)
    assert view_command("a b/avatar.safetensors", flame) == ("gasp view 'a b/avatar.safetensors' --head flame "
                                                             "--flame-model '/m/flame 2023.pkl' --flame-masks /m/masks.pkl")


def test_cli_static_exports(head, avatar_file, tmp_path):
    """export-ply: default 3dgs PLY with the avatar's synthetic-media label, --coords head --scale 1, .splat."""
    f = load_avatar_file(avatar_file, head)
    assert gasp(["export-ply", str(avatar_file), "--out", str(tmp_path / "a.ply")]) == 0
    comments = read_ply_comments(tmp_path / "a.ply")
    assert f"gasp_label {f.provenance['label']}" in comments and "gasp_units 10 per metre" in comments
    assert gasp(["export-ply", str(avatar_file), "--out", str(tmp_path / "h.ply"), "--coords", "head", "--scale",
                 "1"]) == 0
    with torch.no_grad():
        g = FastPoser(f.avatar)(head(f.identity[None], torch.zeros(1, head.n_expression))[0])
    assert torch.allclose(read_ply(tmp_path / "h.ply").means, g.means, atol=1e-6)
    assert "gasp_units 1 per metre" in read_ply_comments(tmp_path / "h.ply")
    assert gasp(["export-ply", str(avatar_file), "--out", str(tmp_path / "a.splat")]) == 0
    assert (tmp_path / "a.splat").stat().st_size == 32 * f.avatar.count
    back = read_splat(tmp_path / "a.splat")
    assert torch.allclose(back.means.mean(0) / 10, (g.means - 0.5 * (g.means.min(0).values + g.means.max(0).values))
                          .mean(0) * torch.tensor([1.0, -1.0, -1.0]), atol=1e-5)  # same 3dgs frame as the PLY


def test_builtin_expressions_for_pca_heads():
    from types import SimpleNamespace

    e, p = builtin_expressions(SimpleNamespace(n_expression=10))  # no expression_names: a PCA basis (FLAME)
    assert e.shape == (10 * 30, 10) and p.batch == 300
    assert float(e.abs().max()) == pytest.approx(1.5, abs=0.01) and float(p.jaw[:, 0].max()) > 0.29
    assert torch.all(e[0].abs() < 0.01) and torch.all(e[-1].abs() < 0.01)  # starts and ends neutral: it loops
