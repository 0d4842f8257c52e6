"""Identity encoder (issue 17), CPU, tiny: the shared crop, learning the prior's codes, exact resume, the fp16 file
and its SHA-256 checks, enrolment modes through fit_with_mode, ``gasp enroll --mode`` and the avatar_fit asset.

The prior here is untrained but made non-trivial (random codes, perturbed decoder): the encoder's job - map crops
of an identity to that identity's code - is the same for any prior, and fitting quality is covered elsewhere. With
5 training identities nothing can generalise to a new person, so the learning test scores the training identities
against predicting the mean code; the held-out figures of the real encoder come from the GPU run.
"""

import dagster as dg
import numpy as np
import pytest
import torch

from gasp_ops.encoder.checkpoint import load_encoder, prior_fingerprint, save_encoder
from gasp_ops.encoder.config import EncoderConfig, default_encoder_config
from gasp_ops.encoder.crop import crop_boxes, input_crops, view_crops
from gasp_ops.encoder.evaluate import code_errors
from gasp_ops.encoder.modes import encode_inputs, fit_with_mode, mode_config
from gasp_ops.encoder.train import train_encoder
from gasp_ops.errors import GaspInputError
from gasp_ops.fitting.config import FitConfig, default_fit_config
from gasp_ops.fitting.fit import fit_avatar
from gasp_ops.fitting.inputs import FitInputs
from gasp_ops.fitting.photo_projection import project_photos
from gasp_ops.io.images import save_png
from gasp_ops.io.tensors import load_tensors, save_tensors
from tests.fitting_fixture import synthetic_prior_views, tiny_prior_config

N_SUBJECTS, N_VIEWS = 6, 6


@pytest.fixture(scope="module")
def views(head):
    return synthetic_prior_views(head, n_subjects=N_SUBJECTS, n_views=N_VIEWS)


@pytest.fixture(scope="module")
def prior(head, views):
    from gasp_ops.prior.prior_model import GaussianPrior

    model = GaussianPrior.build(head, tiny_prior_config(), N_SUBJECTS, views.identity_coeffs)
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for p in model.decoder.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
        model.codes.copy_(0.1 * torch.randn(model.codes.shape, generator=g))
    return model.eval()


def tiny(**changes) -> EncoderConfig:
    return default_encoder_config("tiny", val_fraction=0.2, **changes)


@pytest.fixture(scope="module")
def trained(prior, views, head):
    return train_encoder(prior, views, tiny(steps=120), head)


def _inputs_of(views, idx) -> FitInputs:
    """Fitting inputs made of PriorViews views ``idx`` of one subject (straight colour = premultiplied / alpha)."""
    b = views.gather(torch.as_tensor(idx))
    a = b.alpha[..., 0]
    straight = torch.where(a[..., None] > 0, b.rgb / a[..., None].clamp_min(1e-6), torch.zeros_like(b.rgb)).clamp(0, 1)
    return FitInputs(straight, a, b.cameras, b.expression, b.pose, b.identity[0], [f"v{int(i)}" for i in idx])


def test_crop_sampling_convention():
    # a white square exactly on the box: the crop is white everywhere, with and without supersampling
    img = torch.zeros(2, 64, 64, 3)
    img[:, 16:48, 16:48] = 1.0
    alpha = img[..., 0].clone()
    out = crop_boxes(img, alpha, torch.tensor([[32.0, 32.0, 32.0], [32.0, 32.0, 32.0]]), 32)  # no supersampling
    assert out.shape == (2, 4, 32, 32) and torch.allclose(out, torch.ones_like(out))
    small = crop_boxes(img, alpha, torch.tensor([[32.0, 32.0, 32.0]] * 2), 8)  # supersampled x4, then averaged
    assert torch.allclose(small, torch.ones_like(small))
    # a box twice as large: the square fills the middle half, black outside (zero padding past the image)
    wide = crop_boxes(img, alpha, torch.tensor([[32.0, 32.0, 64.0]] * 2), 16)
    assert torch.allclose(wide[0, :, 4:12, 4:12], torch.ones(4, 8, 8)) and float(wide[0, :, :3].max()) == 0.0


def test_crop_is_the_same_for_training_and_enrolment(head, views):
    cfg = tiny()
    idx = [0, 2, 4]  # subject 0
    train_side = view_crops(views, idx, head, cfg)
    enrol_side = input_crops(_inputs_of(views, idx), head, cfg)
    assert train_side.shape == (3, 4, cfg.crop_size, cfg.crop_size)
    assert float((train_side - enrol_side).abs().max()) < 2.5 / 255  # uint8 premultiplication round trip only
    a = train_side[:, 3]
    assert ((a.mean((1, 2)) > 0.2) & (a.mean((1, 2)) < 0.95)).all()  # the head fills the crop, not more
    ys, xs = torch.meshgrid(torch.arange(cfg.crop_size), torch.arange(cfg.crop_size), indexing="ij")
    cx = (a * xs).sum((1, 2)) / a.sum((1, 2)) / cfg.crop_size
    assert ((cx - 0.5).abs() < 0.15).all()  # horizontally centred on the head


def test_encoder_learns_the_codes(prior, views, head, trained):
    code = trained.history["code"]
    assert code[-1] < 0.1 * code[0]
    train = code_errors(trained.model, prior, views, head, trained.train_subjects)
    pooled = code_errors(trained.model, prior, views, head, trained.train_subjects, frames=3)
    assert train["items"] == len(trained.train_subjects) * N_VIEWS
    assert train["ratio"] < 0.1 and pooled["ratio"] < 0.1  # far below predicting the mean code (ratio 1)
    assert len(trained.val_subjects) == 1 and trained.val_subjects[0] not in trained.train_subjects
    # the untrained encoder predicts exactly the mean code (zero-initialised output layer): ratio 1
    start = train_encoder(prior, views, tiny(steps=1, lr=0.0), head).model
    assert abs(code_errors(start, prior, views, head, trained.train_subjects)["ratio"] - 1.0) < 1e-5


def test_training_is_deterministic_and_resumes_exactly(prior, views, head, tmp_path):
    cfg = tiny(steps=6, log_every=1, checkpoint_every=100, val_every=2, max_frames=3, single_frame_prob=0.3)
    full = train_encoder(prior, views, cfg, head, tmp_path / "a")
    again = train_encoder(prior, views, cfg, head, tmp_path / "b")
    train_encoder(prior, views, cfg, head, tmp_path / "c", stop_at=3)
    resumed = train_encoder(prior, views, cfg, head, tmp_path / "c")
    for other in (again, resumed):
        a, b = full.model.state_dict(), other.model.state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a)
        assert other.history == full.history
    assert full.history["val"]["step"] == [2, 4, 6] and full.extra["best_step"] in (2, 4, 6)
    with pytest.raises(GaspInputError, match="other model or other prior"):
        other_prior = type(prior).build(head, tiny_prior_config(), N_SUBJECTS)
        train_encoder(other_prior, views, cfg, head, tmp_path / "a")
    with pytest.raises(GaspInputError, match="n_subjects"):
        train_encoder(type(prior).build(head, tiny_prior_config(), N_SUBJECTS + 1), views, cfg, head)


def test_file_round_trip_and_sha256_checks(prior, views, head, trained, tmp_path):
    from gasp_ops.encoder.checkpoint import file_sha256

    path = save_encoder(tmp_path / "encoder.safetensors", trained.model, {"summary": {"note": "test"}})
    tensors, meta = load_tensors(path)
    assert tensors["model.head.0.weight"].dtype == torch.float16 and tensors["model.code_mean"].dtype == torch.float32
    assert meta["kind"] == "gasp_encoder" and meta["summary"] == {"note": "test"}
    assert meta["prior_fingerprint"] == prior_fingerprint(prior)
    model, _ = load_encoder(path, sha256=file_sha256(path))
    crops = view_crops(views, [0, 7], head, model.config)[:, None]
    shape = views.identity_coeffs[[0, 1]]
    with torch.no_grad():
        ref, got = trained.model(crops, shape=shape), model(crops, shape=shape)
    assert torch.allclose(ref, got, atol=0.02 * float(ref.abs().max()))  # fp16 weights
    # a modified weight with the old header: the content hash no longer matches
    tensors["model.head.0.weight"] = tensors["model.head.0.weight"] * 1.01
    save_tensors(tmp_path / "tampered.safetensors", tensors, meta)
    with pytest.raises(GaspInputError, match="content SHA-256 mismatch"):
        load_encoder(tmp_path / "tampered.safetensors")
    with pytest.raises(GaspInputError, match="SHA-256 of the file"):
        load_encoder(path, sha256="0" * 64)
    save_tensors(tmp_path / "other.safetensors", {"x": torch.zeros(2)}, {"kind": "gasp_prior"})
    with pytest.raises(GaspInputError, match="not a GASP encoder file"):
        load_encoder(tmp_path / "other.safetensors")


def test_mode_configs_and_init_checks(prior, trained, head):
    paper = default_fit_config("paper")
    fast = mode_config(paper, "fast")
    assert (fast.steps_inversion, fast.steps_decoder, fast.steps_refine, fast.init) == (28, 147, 100, "encoder")
    assert (fast.steps_inversion + fast.steps_decoder + fast.steps_refine) * 4 <= 1100
    t = mode_config(default_fit_config("tiny"), "fast")
    assert (t.steps_inversion, t.steps_decoder, t.steps_refine) == (4, 23, 18)  # tiny: 20 / 40 / 120
    assert (t.steps_inversion + t.steps_decoder + t.steps_refine) * 4 <= 180
    no2 = mode_config(paper.replace(steps_decoder=0), "fast")  # a skipped stage stays skipped, its share moves
    assert (no2.steps_inversion, no2.steps_decoder, no2.steps_refine) == (15, 0, 100)
    inst = mode_config(paper, "instant")
    assert inst.steps_inversion == inst.steps_decoder == inst.steps_refine == 0
    assert mode_config(paper, "full").steps_inversion == 500 and mode_config(paper, None) is paper
    assert all(mode_config(paper, m).photo_projection for m in ("instant", "fast", "full"))
    assert not paper.photo_projection  # the paper's fit (no mode) does not project unless configured
    with pytest.raises(GaspInputError, match="mode"):
        mode_config(paper, "slow")
    with pytest.raises(GaspInputError, match="init"):
        FitConfig(init="zero").validate()
    with pytest.raises(GaspInputError, match="init"):
        fit_avatar(prior, head, None, FitConfig(init="encoder"))
    other = type(prior).build(head, tiny_prior_config(), N_SUBJECTS)
    with pytest.raises(GaspInputError, match="different prior"):
        fit_with_mode(other, head, None, FitConfig(), mode="instant", encoder=trained.model)
    with pytest.raises(GaspInputError, match="encoder"):
        fit_with_mode(prior, head, None, FitConfig(), mode="fast", encoder=None)


def test_instant_and_fast_modes_start_from_the_encoder_code(prior, views, head, trained):
    inputs = _inputs_of(views, [N_VIEWS, N_VIEWS + 1])  # subject 1, two frames (pooled)
    code = encode_inputs(trained.model, head, inputs)
    res = fit_with_mode(prior, head, inputs, FitConfig(), mode="instant", encoder=trained.model)
    expected, _ = project_photos(prior.avatar(code=code), head, inputs)  # decoded, then the photos projected on
    assert res.history == {} and set(res.seconds) == {"encoder", "decode", "projection"} and torch.equal(res.code, code)
    assert torch.allclose(res.avatar.colors, expected.colors) and torch.allclose(res.avatar.offsets, expected.offsets)
    cfg = FitConfig(steps_inversion=4, steps_decoder=4, steps_refine=4, log_every=1)
    fast = fit_with_mode(prior, head, inputs, cfg, mode="fast", encoder=trained.model)
    assert [h["step"][-1] for h in fast.history.values()] == [1, 2, 1] and "encoder" in fast.seconds  # fast_steps
    zero = fit_with_mode(prior, head, inputs, cfg.replace(stage1=False, stage2=False, stage3=False), mode="full",
                         encoder=trained.model)
    assert torch.equal(zero.code, code)  # the full fit's stage 1 starts at the encoder's code


def test_instant_enroller_serves_several_requests_with_models_loaded_once(prior, head, trained, tmp_path):
    """The warm-process API: two requests, each a complete avatar folder, the same avatar for the same input."""
    from gasp_ops.avatar_file import load_avatar_file
    from gasp_ops.encoder.instant_session import InstantEnroller
    from gasp_ops.prior.checkpoint import save_prior
    from tests.test_fitting_stages import _write_frames

    _write_frames(head, tmp_path / "frames")
    prior_path = save_prior(tmp_path / "prior.safetensors", prior, {"config": tiny_prior_config().as_dict()})
    enroller = InstantEnroller("cpu", prior_path=prior_path, encoder_path=save_encoder(tmp_path / "enc.safetensors",
                                                                                       trained.model))
    encoder = enroller.encoder
    timings: dict = {}
    a = enroller.enroll(tmp_path / "frames", tmp_path / "a", consent="granted", timings=timings)
    b = enroller.enroll(tmp_path / "frames", tmp_path / "b")
    assert enroller.encoder is encoder and set(timings) == {"preprocess", "fit", "outputs"}
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["avatar.safetensors", "fit.json"]
    fa, fb = load_avatar_file(a["avatar"], head), load_avatar_file(b["avatar"], head)
    assert fa.avatar.count == prior.count and torch.equal(fa.avatar.colors, fb.avatar.colors)
    assert fa.provenance["likeness"]["consent"] == "granted" and fa.fit["config"]["steps_refine"] == 0


def test_enroll_batch_enrols_each_input_into_its_folder_and_checks_inputs_first(prior, head, trained, tmp_path,
                                                                                capsys):
    from gasp_ops.avatar_file import load_avatar_file
    from gasp_ops.prior.checkpoint import save_prior
    from pipelines.cli import main
    from tests.test_fitting_stages import _write_frames

    for name in ("ann", "ben"):
        _write_frames(head, tmp_path / "in" / name)
    (tmp_path / "in" / "dan").mkdir()  # no frames.parquet: refused before anything loads
    save_png(tmp_path / "in" / "cat.png", np.full((96, 96, 3), 0.5))  # passes the checks, no face: fails at its turn
    prior_path = save_prior(tmp_path / "prior.safetensors", prior, {"config": tiny_prior_config().as_dict()})
    enc = save_encoder(tmp_path / "enc.safetensors", trained.model)
    common = ["--prior", str(prior_path), "--encoder", str(enc), "--device", "cpu", "--consent", "granted"]
    ins = [str(tmp_path / "in" / n) for n in ("ann", "ben")]
    # checked before any model loads: a missing input, two inputs with one name, a bad consent value
    assert main(["enroll-batch", *ins, str(tmp_path / "nope.jpg"), "--out", str(tmp_path / "o"), *common]) == 2
    assert "nope.jpg" in capsys.readouterr().err and not (tmp_path / "o").exists()
    assert main(["enroll-batch", *ins, ins[0], "--out", str(tmp_path / "o"), *common]) == 2
    assert "same name 'ann'" in capsys.readouterr().err and not (tmp_path / "o").exists()
    assert main(["enroll-batch", *ins, str(tmp_path / "in" / "dan"), "--out", str(tmp_path / "o"), *common]) == 2
    assert "no frames.parquet" in capsys.readouterr().err and not (tmp_path / "o").exists()
    code = main(["enroll-batch", *ins, "--out", str(tmp_path / "o"), *common])
    assert code == 0, capsys.readouterr().err
    for n in ("ann", "ben"):
        f = load_avatar_file(tmp_path / "o" / n / "avatar.safetensors", head)
        assert f.avatar.count == prior.count and f.provenance["likeness"]["consent"] == "granted"
    assert "2 of 2 enrolled" in capsys.readouterr().out
    code = main(["enroll-batch", *ins, str(tmp_path / "in" / "cat.png"), "--out", str(tmp_path / "o2"), *common])
    captured = capsys.readouterr()
    assert code == 2 and "2 of 3 enrolled" in captured.out and "cat" in captured.err
    assert (tmp_path / "o2" / "ben" / "avatar.safetensors").is_file() and not (tmp_path / "o2" / "cat").exists()


def test_cli_enroll_modes_and_train_encoder(prior, views, head, trained, tmp_path):
    from gasp_ops.avatar_file import load_avatar_file
    from gasp_ops.prior.checkpoint import save_prior
    from pipelines.cli import main
    from tests.test_fitting_stages import _write_frames

    _write_frames(head, tmp_path / "frames")
    prior_path = save_prior(tmp_path / "prior.safetensors", prior, {"config": tiny_prior_config().as_dict()})
    enc_path = save_encoder(tmp_path / "encoder.safetensors", trained.model)
    out = tmp_path / "instant"
    assert main(["enroll", str(tmp_path / "frames"), "--out", str(out), "--prior", str(prior_path), "--encoder",
                 str(enc_path), "--mode", "instant", "--setting", "single_image", "--image-size", "32"]) == 0
    f = load_avatar_file(out / "avatar.safetensors", head)
    assert f.avatar.count == prior.count and set(f.fit["seconds"]) == {"encoder", "decode", "projection"}
    assert (out / "turntable_strip.png").is_file() and not (out / "curves.png").exists()  # no steps, no curves
    assert main(["enroll", str(tmp_path / "frames"), "--out", str(tmp_path / "bare"), "--prior", str(prior_path),
                 "--encoder", str(enc_path), "--mode", "instant", "--setting", "single_image", "--image-size", "32",
                 "--no-figures"]) == 0
    assert sorted(p.name for p in (tmp_path / "bare").iterdir()) == ["avatar.safetensors", "fit.json"]
    assert main(["enroll", str(tmp_path / "frames"), "--out", str(tmp_path / "fast"), "--prior", str(prior_path),
                 "--encoder", str(enc_path), "--mode", "fast", "--steps", "4", "4", "4", "--image-size", "32",
                 "--setting", "single_image"]) == 0
    assert load_avatar_file(tmp_path / "fast" / "avatar.safetensors", head).fit["config"]["steps_refine"] == 1
    assert main(["enroll", str(tmp_path / "frames"), "--out", str(tmp_path / "x"), "--prior", str(prior_path),
                 "--encoder", str(tmp_path / "missing.safetensors"), "--mode", "instant"]) == 2


def test_avatar_fit_asset_runs_every_mode(prior, trained, tmp_path):
    from assets_defs.capture_assets import embedded_benchmark_frames
    from assets_defs.fitting_assets import avatar_fit
    from assets_defs.resources import DataRoot, default_resources
    from gasp_ops.avatar_file import load_avatar_file
    from gasp_ops.headmodel.factory import build_head_model
    from gasp_ops.prior.checkpoint import PRIOR_NAME, save_prior

    res = {**default_resources(), "data_root": DataRoot(root=str(tmp_path))}
    if "prior_source" in res:  # fit with this test's prior (saved where the gaussian_prior asset writes), not a shipped one
        res["prior_source"] = type(res["prior_source"])(source="job")
    instance = dg.DagsterInstance.ephemeral()
    cap = dg.materialize([embedded_benchmark_frames], resources=res, instance=instance,
                         run_config={"ops": {"embedded_benchmark_frames": {"config": {
                             "cameras": 3, "num_frames": 2, "image_size": 64}}}})
    assert cap.success
    save_prior(tmp_path / "tiny" / "prior" / PRIOR_NAME, prior, {"config": tiny_prior_config().as_dict()})
    save_encoder(tmp_path / "tiny" / "encoder" / "encoder.safetensors", trained.model)
    seconds = {}
    for mode in ("instant", "fast", "full"):
        run = dg.materialize([avatar_fit], resources=res, instance=instance, partition_key="monocular|901",
                             run_config={"ops": {"avatar_fit": {"config": {
                                 "mode": mode, "steps_inversion": 4, "steps_decoder": 4, "steps_refine": 4,
                                 "image_size": 32}}}})
        assert run.success
        meta = run.asset_materializations_for_node("avatar_fit")[0].metadata
        assert meta["mode"].value == mode
        assert meta["viewer"].value == f"gasp view {tmp_path}/tiny/avatars/901/monocular/avatar.safetensors"
        f = load_avatar_file(tmp_path / "tiny" / "avatars" / "901" / "monocular" / "avatar.safetensors",
                             build_head_model("procedural"))
        seconds[mode] = f.fit["seconds"]
        assert np.isfinite(f.avatar.colors.numpy()).all()
    assert set(seconds["instant"]) == {"encoder", "decode", "projection"}
    assert {"encoder", "inversion", "decoder", "refine"} <= set(seconds["fast"]) == set(seconds["full"])
    bad = dg.materialize([avatar_fit], resources=res, instance=instance, partition_key="monocular|901",
                         raise_on_error=False, run_config={"ops": {"avatar_fit": {"config": {
                             "mode": "instant", "encoder_path": str(tmp_path / "nope.safetensors")}}}})
    assert not bad.success


def test_training_run_writes_what_ships(prior, views, head, tmp_path):
    import json

    from gasp_ops.encoder.checkpoint import file_sha256
    from gasp_ops.encoder.run import train_encoder_from_files

    summary = train_encoder_from_files(None, None, tmp_path, tiny(steps=8, val_every=4), head, views=views,
                                       prior=prior, progress=False)
    path = tmp_path / "encoder.safetensors"
    assert summary["encoder_sha256"] == file_sha256(path) and summary["encoder_bytes"] == path.stat().st_size
    load_encoder(path, sha256=summary["encoder_sha256"])
    report = json.loads((tmp_path / "encoder_summary.json").read_text())["report"]
    assert report["val_subjects"] == 1 and report["val_single"]["items"] == N_VIEWS
    assert np.isfinite([report["val_single"]["ratio"], report["val_novel_view"]["psnr_encoder"]]).all()
    assert (tmp_path / "encoder_curves.png").stat().st_size > 1000 and summary["best_step"] in (4, 8)


def test_time_vs_quality_points(prior, head, trained, tmp_path):
    from evaluation.time_quality import budget_config, markdown_table, plot_time_quality, summarise, time_vs_quality
    from tests.test_fitting_stages import _write_frames

    paper = default_fit_config("paper")
    assert [getattr(budget_config(paper, 1100, "mean"), k) for k in ("steps_inversion", "steps_decoder",
                                                                     "steps_refine")] == [500, 500, 100]
    b = budget_config(paper, 50, "encoder")
    assert b.steps_inversion + b.steps_decoder + b.steps_refine == 50 and b.init == "encoder"
    _write_frames(head, tmp_path / "frames")
    rows = time_vs_quality([tmp_path / "frames" / "frames.parquet"], prior, trained.model, head,
                           default_fit_config("tiny"), settings=("single_image",), budgets=(0, 2),
                           inits=("encoder", "mean"), image_size=16, max_eval_frames=2, metrics=("psnr",))
    assert len(rows) == 2 * 2 * 2 and set(rows.steps) == {0, 2} and set(rows.init) == {"encoder", "mean"}
    assert set(rows[rows.steps == 0].method) == {"instant (encoder)", "mean code + 0 steps"}
    assert np.isfinite(rows.value).all() and (rows.seconds > 0).all()
    summary = summarise(rows)
    assert len(summary) == 4 and (summary.frames == 2).all()
    assert plot_time_quality(summary, tmp_path / "curve.png", ("psnr",)).stat().st_size > 1000
    assert markdown_table(summary).count("\n") == 6


def test_proxy_people_train_through_the_render_loss(prior, views, head, tmp_path):
    """People without codes (here the same renders, their codes never read) add a novel-view render loss: it is
    logged, it changes the weights, it is deterministic, its held-out people are scored; without them it refuses."""
    from gasp_ops.encoder.run import evaluation_report

    with pytest.raises(GaspInputError, match="proxy_weight"):
        train_encoder(prior, views, tiny(steps=2, proxy_weight=1.0), head)
    cfg = tiny(steps=40, log_every=1, proxy_weight=1.0, proxy_batch=3)
    a = train_encoder(prior, views, cfg, head, proxy_views=views)
    b = train_encoder(prior, views, cfg, head, proxy_views=views)
    plain = train_encoder(prior, views, cfg.replace(proxy_weight=0.0), head, proxy_views=views)
    sa, sb, sp = a.model.state_dict(), b.model.state_dict(), plain.model.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sp[k]) for k in sa)
    proxy = a.history["proxy"]
    assert min(proxy) > 0 and max(plain.history["proxy"]) == 0.0
    assert np.mean(proxy[-10:]) < np.mean(proxy[:10])
    assert a.proxy_val_subjects and not set(a.proxy_val_subjects) & set(a.proxy_train_subjects)
    report = evaluation_report(a, prior, views, head, proxy_views=views)
    nv = report["proxy_val_novel_view"]
    assert nv["subjects"] == len(a.proxy_val_subjects) and "prior_code" not in str(nv.keys())
    assert np.isfinite(nv["psnr_encoder"]) and np.isfinite(nv["psnr_mean_code"])


def test_time_vs_quality_rows_carry_their_provenance(tmp_path):
    import pandas as pd

    from benchmarks.time_vs_quality import with_provenance
    from gasp_models import file_sha256

    prior, enc = tmp_path / "p.safetensors", tmp_path / "e.safetensors"
    prior.write_bytes(b"prior"), enc.write_bytes(b"encoder")
    rows = with_provenance(pd.DataFrame({"psnr": [1.0, 2.0]}), prior_path=prior, encoder_path=enc, preset="tiny",
                           image_size=64, commit="abc1234")
    assert set(rows.commit) == {"abc1234"} and set(rows.image_size) == {64} and set(rows.preset) == {"tiny"}
    assert set(rows.prior_sha256) == {file_sha256(prior)} and set(rows.encoder_sha256) == {file_sha256(enc)}
    assert rows.date.str.match(r"\d{4}-\d\d-\d\dT\d\d:\d\dZ").all() and rows.torch.notna().all()
