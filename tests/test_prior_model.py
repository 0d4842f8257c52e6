"""Prior architecture: shapes, weight norm everywhere, zero-init = template, split first layer = concatenation,
batched posing = avatar.pose, config errors."""

import pytest
import torch

from gasp_ops.avatar import GaussianAvatar, pose
from gasp_ops.errors import GaspInputError
from gasp_ops.headmodel.procedural import ProceduralHead
from gasp_ops.prior.config import PriorConfig, default_config
from gasp_ops.prior.decoder import BRANCHES, PriorDecoder
from gasp_ops.avatar import pose_attributes
from gasp_ops.prior.prior_model import GaussianPrior


@pytest.fixture(scope="module")
def head():
    return ProceduralHead()


def test_decoder_architecture_and_weight_norm():
    d = PriorDecoder()  # the paper's sizes: 8 + 512 -> 6 x 256 -> 5 branches
    linears = [m for m in d.modules() if isinstance(m, torch.nn.Linear)]
    assert len(linears) == 6 + 5 + 5
    for m in linears:
        assert hasattr(m, "parametrizations") and "weight" in m.parametrizations, m
        assert m.parametrizations.weight.original0.shape == (m.out_features, 1)  # g, per output row
    assert d.first.in_features == 520 and d.first.out_features == 256
    assert all(m.out_features == 256 for m in d.trunk) and len(d.trunk) == 5
    out = d(torch.randn(7, 8), torch.randn(3, 512))
    assert {k: tuple(v.shape) for k, v in out.items()} == {k: (3, 7, w) for k, w in BRANCHES.items()}


def test_zero_initialised_decoder_gives_the_template_exactly(head):
    model = GaussianPrior.build(head, PriorConfig(uv_resolution=16), num_subjects=4)
    model.codes.data.normal_()  # any code
    attrs = model.decode(torch.tensor([0, 3]))
    for name, t0 in model.template().items():
        assert torch.equal(attrs[name][0], t0) and torch.equal(attrs[name][1], t0), name
    # ...and the projections still learn: their gains get gradients
    sum(v.sum() for v in attrs.values()).backward()
    assert model.decoder.branch_out["colors"].parametrizations.weight.original0.grad.abs().sum() > 0


def test_split_first_layer_equals_concatenation():
    torch.manual_seed(0)
    d = PriorDecoder()
    with torch.no_grad():
        for m in d.branch_out.values():  # make the outputs non-zero
            m.parametrizations.weight.original0.normal_()
            m.bias.normal_()
    f, z = torch.randn(50, 8), torch.randn(3, 512)
    a, b = d(f, z), d.forward_concat(f, z)
    for k in BRANCHES:
        assert a[k].abs().max() > 1e-3
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-5)
    # the identity part is one vector per identity
    assert d.identity_bias(z).shape == (3, 256)


def test_batched_posing_matches_avatar_pose(head):
    model = GaussianPrior.build(head, PriorConfig(uv_resolution=16), num_subjects=2)
    g = torch.Generator().manual_seed(1)
    attrs = {k: v[None].repeat(2, *([1] * v.ndim)) + 0.1 * torch.randn(2, *v.shape, generator=g)
             for k, v in model.template().items()}
    verts = head(torch.randn(2, head.n_identity, generator=g) * 0.5, torch.zeros(2, head.n_expression))
    batched = pose_attributes(model.faces, model.face_ids, model.barycentrics, attrs, verts)
    for b in range(2):
        av = GaussianAvatar(faces=model.faces, face_ids=model.face_ids, barycentrics=model.barycentrics,
                            **{k: v[b].detach() for k, v in attrs.items()})
        ref = pose(av, verts[b])
        for f in ("means", "quats", "scales", "opacities", "colors"):
            torch.testing.assert_close(getattr(batched, f)[b], getattr(ref, f)[0], rtol=1e-5, atol=1e-6)


def test_bad_config_raises_one_line_errors():
    with pytest.raises(GaspInputError, match="uv_resolution"):
        PriorConfig(uv_resolution=1).validate()
    with pytest.raises(GaspInputError, match="uv_resolution"):
        default_config("tiny", uv_resolution=0)
    with pytest.raises(GaspInputError, match="colour_depth"):
        PriorConfig.from_dict({"colour_depth": 3})
    with pytest.raises(GaspInputError, match="lr.momentum"):
        PriorConfig.from_dict({"lr": {"momentum": 0.9}})
    with pytest.raises(GaspInputError, match="n_subjects"):
        default_config("tiny", n_subjects=-1)
    with pytest.raises(GaspInputError, match="steps"):
        default_config("tiny", steps=0)
    with pytest.raises(GaspInputError, match="preset"):
        default_config("huge")
    msg = str(pytest.raises(GaspInputError, PriorConfig(batch_size=0).validate).value)
    assert "\n" not in msg
