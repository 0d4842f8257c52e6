"""Fitting stages: exactly the right parameters train in each stage (no gradient where frozen), the caller's prior
is untouched, ablation switches, configs, and frame-table inputs / settings."""

import numpy as np
import pandas as pd
import pytest
import torch

from gasp_ops.errors import GaspInputError
from gasp_ops.fitting import FitConfig, default_fit_config, fit_avatar, from_frame_table, select_setting
from gasp_ops.fitting.fit import initial_code
from gasp_ops.fitting.inputs import FitInputs
from gasp_ops.fitting.stages import FitModel, step_loss
from gasp_ops.headmodel.pose import HeadPose
from gasp_ops.headmodel.procedural import ProceduralHead
from gasp_ops.prior.prior_model import GaussianPrior
from gasp_ops.runtime.posing import PosingPlan
from gasp_ops.synthetic import fixed_cameras
from tests.prior_fixture import tiny_config

SIZE = 24


@pytest.fixture(scope="module")
def head():
    torch.set_num_threads(1)
    return ProceduralHead()


@pytest.fixture(scope="module")
def prior(head):
    model = GaussianPrior.build(head, tiny_config(uv_resolution=16, code_dim=16), 3)
    with torch.no_grad():  # make the decoder's output layers non-zero so every layer gets gradients
        for p in model.decoder.parameters():
            p.add_(0.05 * torch.randn_like(p))
        model.codes.normal_(0, 0.1)
    return model


def _inputs(head, n=2):
    cams = fixed_cameras([0.0, 40.0][:n], [0.0] * n, SIZE, head=head)
    g = torch.Generator().manual_seed(0)
    return FitInputs(torch.rand(n, SIZE, SIZE, 3, generator=g), (torch.rand(n, SIZE, SIZE, generator=g) > 0.5).float(),
                     cams, torch.zeros(n, head.n_expression), HeadPose.zeros(n), torch.zeros(head.n_identity),
                     [f"f{i}" for i in range(n)])


def _grads(model, head, inputs, stage):
    model.set_stage(stage)
    plan = PosingPlan(model.faces, model.face_ids, model.barycentrics)
    verts = head(inputs.identity[None].expand(len(inputs), -1), inputs.expressions, inputs.poses)
    bg = torch.rand(len(inputs), 3)
    rgb, a = inputs.targets(torch.arange(len(inputs)), bg)
    target = {k: v.detach() + 0.01 for k, v in model.decoded().items()} if stage > 1 else None
    for p in model.parameters():
        p.grad = None
    loss, _ = step_loss(model, plan, verts, inputs.cameras, rgb, a, bg, FitConfig(), target)
    loss.backward()
    return {n: p.grad for n, p in model.named_parameters()}


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_each_stage_trains_only_its_parameters(head, prior, stage):
    model = FitModel(prior, initial_code(prior, FitConfig())[0])
    inputs = _inputs(head)
    grads = _grads(model, head, inputs, stage)
    trainable = set(model.trainable())
    if stage == 1:
        assert trainable == {"code"}
    elif stage == 2:
        assert trainable and all(n.startswith("prior.decoder.") for n in trainable)
        assert trainable == {n for n, _ in model.named_parameters() if n.startswith("prior.decoder.")}
    else:
        assert trainable == {f"attributes.{k}" for k in ("offsets", "log_scales", "quats", "colors", "opacity_logits")}
    for name, g in grads.items():
        if name in trainable:
            assert g is not None and torch.isfinite(g).all(), name
        else:
            assert g is None, f"frozen {name} received a gradient in stage {stage}"
    assert any(grads[n].abs().sum() > 0 for n in trainable)
    # features, template and codes of the prior never train
    assert not any(n in trainable for n in ("prior.features", "prior.codes")) and \
        not any(n.startswith("prior.template_") for n in trainable)


def test_fit_leaves_prior_untouched_and_stage1_only_moves_z(head, prior):
    before = {k: v.clone() for k, v in prior.state_dict().items()}
    inputs = _inputs(head, 1)
    cfg = FitConfig(steps_inversion=4, steps_decoder=0, steps_refine=0, log_every=1, code_lr=1.0)
    res = fit_avatar(prior, head, inputs, cfg)
    for k, v in prior.state_dict().items():
        assert torch.equal(v, before[k]), k
    z0, _ = initial_code(prior, cfg)
    assert not torch.allclose(res.code, z0)  # stage 1 moved z
    dec = prior.avatar(code=res.code)  # ... and nothing else: the avatar is the unchanged prior decoded at z
    for k in ("offsets", "colors", "opacity_logits"):
        assert torch.allclose(getattr(res.avatar, k), getattr(dec, k), atol=1e-6), k
    assert list(res.history) == ["inversion"] and len(res.history["inversion"]["total"]) == 4


def test_stage_switches_and_no_prior(head, prior):
    inputs = _inputs(head, 1)
    cfg = FitConfig(steps_inversion=3, steps_decoder=2, steps_refine=2, log_every=1)
    res = fit_avatar(prior, head, inputs, cfg.replace(stage1=False, stage3=False))
    assert list(res.history) == ["decoder"]
    assert torch.equal(res.code, initial_code(prior, cfg)[0])  # without stage 1, z stays at its random init
    res = fit_avatar(prior, head, inputs, cfg.replace(use_regulariser=False))
    assert all(v == 0.0 for st in res.history.values() for v in st["prior"])
    res = fit_avatar(prior, head, inputs, cfg)
    assert any(v > 0 for v in res.history["refine"]["prior"]) and res.history["inversion"]["prior"] == [0.0] * 3
    # w/o prior: stage-3 optimisation only, from the grey UV-binding initialisation, same total number of steps
    res = fit_avatar(prior, head, inputs, cfg.replace(use_prior=False))
    assert list(res.history) == ["refine"] and res.history["refine"]["step"][-1] == 7 and res.code is None
    res = fit_avatar(None, head, inputs, cfg.replace(use_prior=False, no_prior_steps=2), uv_resolution=16)
    assert res.avatar.count == prior.count
    with pytest.raises(GaspInputError, match="prior"):
        fit_avatar(None, head, inputs, cfg)


def test_config_validation():
    with pytest.raises(GaspInputError, match="steps_inversio"):
        FitConfig.from_dict({"steps_inversio": 3})
    with pytest.raises(GaspInputError, match="steps_refine"):
        FitConfig(steps_refine=-1).validate()
    assert default_fit_config("paper").steps_inversion == 500 and default_fit_config("paper").steps_refine == 100
    assert default_fit_config("tiny", "no_prior").use_prior is False


def _write_frames(head, root):
    from gasp_ops.capture.frame_table import COLUMNS
    from gasp_ops.io.images import save_png
    from gasp_ops.io.tables import write_parquet

    azs = {"camL": 50.0, "camF": 5.0, "camR": -50.0}
    rows = []
    for cam, az in azs.items():
        c = fixed_cameras([az], [0.0], 32, head=head)
        for f in range(4):
            img, mat = f"images/{cam}_{f}.png", f"mattes/{cam}_{f}.png"
            save_png(root / img, np.full((32, 32, 3), 0.5, np.float32))
            save_png(root / mat, np.ones((32, 32, 1), np.float32))
            rows.append({"source": "nersemble", "subject": 7, "sequence": "EMO", "camera": cam, "frame": f,
                         "width": 32, "height": 32, "K": c.K[0].reshape(-1).tolist(),
                         "world_to_cam": c.world_to_cam[0].reshape(-1).tolist(), "image_path": img, "matte_path": mat,
                         "mask_path": mat, "head_model": "procedural", "identity": [0.1] * head.n_identity,
                         "expression": [0.0] * head.n_expression, "rotation": [0.0] * 3, "translation": [0.0] * 3,
                         "neck": [0.0] * 3, "jaw": [0.0] * 3, "eyes": [0.0] * 6})
    table = pd.DataFrame(rows).reindex(columns=list(COLUMNS))
    write_parquet(root / "frames.parquet", table)
    return table


def test_frame_table_inputs_and_settings(head, tmp_path):
    table = _write_frames(head, tmp_path)
    assert select_setting(table, "single_image")["camera"].tolist() == ["camF"]
    assert select_setting(table, "monocular")["frame"].tolist() == [0, 2]
    assert sorted(select_setting(table, "three_frame")["camera"]) == ["camF", "camL", "camR"]
    assert len(select_setting(table, "multi_camera", frame_step=2)) == 6
    inputs = from_frame_table(tmp_path / "frames.parquet", setting="three_frame", image_size=16)
    assert inputs.images.shape == (3, 16, 16, 3) and inputs.cameras.width == 16
    assert torch.allclose(inputs.identity, torch.full((head.n_identity,), 0.1))
    assert abs(float(inputs.cameras.K[0, 0, 2]) - 8.0) < 1e-4


def test_cli_enroll_render_export(head, prior, tmp_path):
    from plyfile import PlyData

    from gasp_ops.avatar_file import load_avatar_file
    from gasp_ops.prior.checkpoint import save_prior
    from pipelines.cli import main

    _write_frames(head, tmp_path / "frames")
    prior_path = save_prior(tmp_path / "prior.safetensors", prior, {"config": tiny_config(uv_resolution=16,
                                                                                          code_dim=16).as_dict()})
    out = tmp_path / "avatar"
    assert main(["enroll", str(tmp_path / "frames"), "--out", str(out), "--prior", str(prior_path), "--steps", "2", "2",
                 "2", "--image-size", "16", "--setting", "three_frame", "--consent", "granted", "--fp16"]) == 0
    f = load_avatar_file(out / "avatar.safetensors", head)
    assert f.avatar.count == prior.count and f.dtype == "float16" and f.provenance["likeness"]["consent"] == "granted"
    assert f.fit["frames"] == 3 and all((out / n).is_file() for n in ("curves.png", "input_vs_render.png",
                                                                       "turntable_strip.png", "fit.json"))
    assert main(["render", str(out / "avatar.safetensors"), "--out", str(tmp_path / "r"), "--frames", "3",
                 "--size", "16"]) == 0
    assert len(list((tmp_path / "r").glob("frame_*.png"))) == 3
    assert main(["export-ply", str(out / "avatar.safetensors"), "--out", str(tmp_path / "a.ply")]) == 0
    assert PlyData.read(str(tmp_path / "a.ply"))["vertex"].count == prior.count
    assert main(["enroll", str(tmp_path / "nothing"), "--out", str(out), "--prior", str(prior_path)]) == 2


def test_fitting_assets_load():
    import dagster as dg

    from assets_defs import fitting_assets
    from assets_defs.partitions import subject_setting_partitions

    assets = dg.load_assets_from_modules([fitting_assets])
    keys = {k.to_user_string() for a in assets for k in a.keys}
    assert {"avatar_fit", "avatar_renders"} <= keys
    assert fitting_assets.avatar_fit.partitions_def == subject_setting_partitions
