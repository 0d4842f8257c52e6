"""Prior training on CPU: decoded identities beat the template, exact stop-and-resume, LPIPS reported unavailable,
the dataset folder path (schema reader, n_subjects), outputs written."""

import json

import pytest
import torch

from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.procedural import ProceduralHead
from gasp_ops.prior.checkpoint import load_prior
from gasp_ops.prior.evaluate import reconstruction_report
from gasp_ops.prior.perceptual import lpips_status
from gasp_ops.prior.trainer import train_prior
from tests.prior_fixture import SIZE, UV, tiny_config, views_for


@pytest.fixture(scope="module")
def head():
    return ProceduralHead()


@pytest.fixture(scope="module")
def views(head):
    return views_for(head)


def test_decoded_identities_beat_the_template(head, views):
    result = train_prior(tiny_config(steps=24), views, head, None, progress=False)
    report = reconstruction_report(result.model, views, head, idx=views.train_indices())
    assert report["psnr_decoded"] - report["psnr_template"] >= 1.0, report
    assert report["l1_decoded"] <= 0.9 * report["l1_template"], report
    h = result.history
    assert len(h["total"]) == 24 and sum(h["total"][-5:]) < sum(h["total"][:5])
    # identities decode differently (the codes matter)
    a = result.model.decode(torch.tensor([0, 1, 2]))["colors"]
    assert (a[0] - a[1]).abs().mean() > 1e-4 and (a[1] - a[2]).abs().mean() > 1e-4


@pytest.fixture
def deterministic():
    # CPU scatter-adds (index backward) are not bitwise reproducible across threads otherwise; see trainer docstring
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    yield
    torch.use_deterministic_algorithms(before)


def test_stop_and_resume_equals_uninterrupted(head, views, tmp_path, deterministic):
    cfg = tiny_config(steps=6, checkpoint_every=3, random_background=True)
    full = train_prior(cfg, views, head, tmp_path / "a", progress=False)
    first = train_prior(cfg, views, head, tmp_path / "b", progress=False, stop_at=3)
    assert first.step == 3 and (tmp_path / "b" / "checkpoint.safetensors").is_file()
    torch.manual_seed(1234)  # disturb the global RNG: the resumed run must restore it
    second = train_prior(cfg, views, head, tmp_path / "b", progress=False)
    assert second.step == 6
    assert second.history["total"] == full.history["total"], (second.history["total"], full.history["total"])
    sa, sb = full.model.state_dict(), second.model.state_dict()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def test_lpips_reported_unavailable_without_weights(head, views, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    status = lpips_status("vgg")
    assert not status.available and "vgg16-397923af.pth" in status.reason and "not found" in status.reason
    logs = []
    result = train_prior(tiny_config(steps=1), views, head, None, progress=False, log=logs.append)
    assert not result.lpips.available and result.history["lpips"] == [0.0]
    off = [m for m in logs if "LPIPS" in m]
    assert len(off) == 1 and "OFF" in off[0] and "not found" in off[0]
    assert not (tmp_path / "hub").exists()  # nothing was downloaded


def test_dataset_folder_training_writes_outputs(head, tmp_path):
    from gasp_ops.prior.run import open_training_views, train_from_dataset
    from gasp_ops.prior.toy_dataset import write_toy_dataset
    from gasp_ops.synthetic.dataset_plan import identity_table, plan_identities

    ids = identity_table(plan_identities(2, 5, head), head)
    root = write_toy_dataset(tmp_path / "ds", head, ids, n_views=2, image_size=SIZE, uv_resolution=UV)
    with pytest.raises(GaspInputError, match="n_subjects"):
        open_training_views(root, tiny_config(n_subjects=3))
    cfg = tiny_config(n_subjects=0, steps=3, batch_size=2, holdout_views=1)
    views = open_training_views(root, cfg)
    assert views.num_subjects == 2 and len(views) == 4 and int((~views.train).sum()) == 2
    assert views.identity_ids == list(ids.identity_id[:2])
    with pytest.raises(GaspInputError, match="stop_at"):  # checked before any training
        train_from_dataset(root, tmp_path / "bad", cfg, head, progress=False, stop_at=0)
    # stop_at ends the run at step 2 of the 3-step schedule (as another prior's step count)
    summary = train_from_dataset(root, tmp_path / "prior", cfg, head, progress=False, stop_at=2)
    for name in ("prior.safetensors", "checkpoint.safetensors", "curves.png", "identities.png", "summary.json"):
        assert (tmp_path / "prior" / name).is_file(), name
    assert summary["lpips_used"] is False and summary["lpips_reason"]
    model, meta = load_prior(tmp_path / "prior" / "prior.safetensors", head)
    assert meta["lpips_used"] is False and "lpips_reason" in meta and meta["steps"] == 2
    assert json.loads((tmp_path / "prior" / "summary.json").read_text())["subjects"] == 2
    assert model.count == summary["gaussians"] and model.num_subjects == 2
    assert train_from_dataset(root, tmp_path / "prior", cfg, head, progress=False)["steps"] == 3  # resumes to the end


def test_time_budget_checkpoints_and_resumes_exactly(head, views, tmp_path, deterministic):
    """max_seconds (device sessions of bounded length): stop early with a checkpoint, resume to the same end."""
    cfg = tiny_config(steps=5, checkpoint_every=1000, random_background=True)
    full = train_prior(cfg, views, head, tmp_path / "a", progress=False)
    first = train_prior(cfg, views, head, tmp_path / "b", progress=False, max_seconds=0.0)
    assert first.step == 1 and len(first.history["total"]) == 1
    second = train_prior(cfg, views, head, tmp_path / "b", progress=False)
    assert second.step == 5 and second.history["total"] == full.history["total"]
    for k, v in full.model.state_dict().items():
        assert torch.equal(v, second.model.state_dict()[k]), k


def test_code_regulariser_keeps_codes_compact(head, views):
    """The codes' size term pulls the codes towards zero: with a weight they end smaller than without, the
    term is logged either way, and a negative weight is a one-line error naming the field."""
    plain = train_prior(tiny_config(steps=12), views, head, None, progress=False)
    held = train_prior(tiny_config(steps=12, code_regulariser=1.0), views, head, None, progress=False)
    size = lambda r: float(r.model.codes.detach().pow(2).sum(-1).mean())
    assert size(held) < 0.5 * size(plain), (size(held), size(plain))
    assert len(plain.history["code"]) == 12 and plain.history["code"][-1] > 0
    with pytest.raises(GaspInputError, match="code_regulariser"):
        tiny_config(code_regulariser=-1.0)
