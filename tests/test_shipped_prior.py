"""The prior shipped in gasp_models/: SHA-256 checked on load, one-line errors, used by default."""

import shutil

import dagster as dg
import pytest
import torch

from gasp_models import SHA256, model_card, model_path
from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.procedural import ProceduralHead
from gasp_ops.prior.shipped import SHIPPED_PRIOR, load_shipped_prior, shipped_prior_path


def test_every_shipped_file_matches_its_digest_and_has_a_card():
    for name in SHA256:
        assert model_path(name).stat().st_size < 16 * 2**20
        card = model_card(name)
        assert "Licence" in card and "Intended use" in card and SHA256[name] in card


def test_missing_or_altered_file_is_one_line(tmp_path):
    with pytest.raises(GaspInputError, match="missing") as missing:
        model_path(SHIPPED_PRIOR, folder=tmp_path)
    assert "\n" not in str(missing.value)
    altered = tmp_path / SHIPPED_PRIOR
    shutil.copyfile(shipped_prior_path(), altered)
    data = bytearray(altered.read_bytes())
    data[-100] ^= 0xFF
    altered.write_bytes(bytes(data))
    with pytest.raises(GaspInputError, match="SHA-256") as bad:
        model_path(SHIPPED_PRIOR, folder=tmp_path)
    assert "\n" not in str(bad.value)
    with pytest.raises(GaspInputError, match="not a shipped model"):
        model_path("other.safetensors")


def test_shipped_prior_loads_and_decodes_distinct_people():
    head = ProceduralHead()
    prior, meta = load_shipped_prior(head)
    assert meta["subjects"] == 1000 and prior.count == meta["gaussians"] == 9900
    assert meta["config"]["uv_resolution"] == 128
    with torch.no_grad():
        attrs = prior.decode(torch.tensor([0, 1]))
    colours = attrs["colors"]
    assert torch.isfinite(colours).all()
    # Two training people decode to different avatars (the codes carry identity), not to the template.
    assert (colours[0] - colours[1]).abs().mean() > 0.01
    assert (colours[0] - prior.template()["colors"]).abs().mean() > 0.01


def test_shipped_prior_asset_metadata_is_the_model_card():
    from assets_defs.prior_assets import shipped_prior

    result = dg.materialize([shipped_prior])
    assert result.success
    meta = result.asset_materializations_for_node("shipped_prior")[0].metadata
    assert meta["sha256"].value == SHA256[SHIPPED_PRIOR]
    assert "Model card" in meta["model_card"].value and meta["gaussians"].value == 9900


def test_enroll_defaults_to_the_shipped_prior():
    from pipelines.cli import _enroll_prior_path, build_parser

    args = build_parser().parse_args(["enroll", "photo.jpg", "--out", "x"])
    assert _enroll_prior_path(args) == shipped_prior_path()
    args = build_parser().parse_args(["enroll", "photo.jpg", "--out", "x", "--prior", "job"])
    assert _enroll_prior_path(args).name == "prior.safetensors" and "prior" in str(_enroll_prior_path(args).parent)
