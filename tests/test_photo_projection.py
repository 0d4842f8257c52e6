"""Photo projection (gasp_ops.fitting.photo_projection): one closed-form step moves the colours of the Gaussians a
photo sees towards it, leaves hidden ones and the geometry alone, is damped by lam; the fit and instant mode use it."""

import pytest
import torch

from gasp_ops.avatar import GaussianAvatar
from gasp_ops.fitting import FitConfig, fit_avatar
from gasp_ops.fitting.inputs import FitInputs
from gasp_ops.fitting.photo_projection import posed_frames, project_photos, projection_sums
from gasp_ops.headmodel.pose import HeadPose
from gasp_ops.prior.prior_model import GaussianPrior
from gasp_ops.render.render import render
from gasp_ops.runtime.posing import PosingPlan
from gasp_ops.synthetic import fixed_cameras
from tests.prior_fixture import tiny_config

SIZE = 32
TRUE = torch.tensor([0.8, 0.3, 0.2])


@pytest.fixture(scope="module")
def prior(head):
    torch.manual_seed(0)
    return GaussianPrior.build(head, tiny_config(uv_resolution=16, code_dim=16), 2)


def _recoloured(avatar: GaussianAvatar, rgb) -> GaussianAvatar:
    return GaussianAvatar(faces=avatar.faces, face_ids=avatar.face_ids, barycentrics=avatar.barycentrics,
                          **{**avatar.attributes(), "colors": torch.as_tensor(rgb).expand(avatar.count, 3).clone()})


def _photos(head, avatar, azimuths=(0.0,)):
    """FitInputs whose frames are renders of ``avatar`` (straight colour, matte = its alpha) at ``azimuths``."""
    n = len(azimuths)
    blank = FitInputs(torch.zeros(n, SIZE, SIZE, 3), torch.zeros(n, SIZE, SIZE),
                      fixed_cameras(list(azimuths), [0.0] * n, SIZE, head=head), torch.zeros(n, head.n_expression),
                      HeadPose.zeros(n), torch.zeros(head.n_identity), [f"f{i}" for i in range(n)])
    vertices, cameras, _, _ = posed_frames(head, blank, list(range(n)), "cpu")
    plan = PosingPlan(avatar.faces, avatar.face_ids, avatar.barycentrics)
    with torch.no_grad():
        out = render(plan.pose(avatar.attributes(), vertices), cameras)
    a = out.alpha[..., 0]
    straight = (out.rgb / a[..., None].clamp_min(1e-6)).clamp(0, 1) * (a[..., None] > 1e-4)
    return FitInputs(straight, a, blank.cameras, blank.expressions, blank.poses, blank.identity, blank.labels)


def _psnr_in_view(head, avatar, inputs) -> float:
    vertices, cameras, images, mattes = posed_frames(head, inputs, list(range(len(inputs))), "cpu")
    plan = PosingPlan(avatar.faces, avatar.face_ids, avatar.barycentrics)
    with torch.no_grad():
        out = render(plan.pose(avatar.attributes(), vertices), cameras)
    mse = ((out.rgb - images * mattes[..., None]) ** 2).mean()
    return float(-10 * torch.log10(mse))


def test_one_step_recovers_a_photo_and_touches_only_colours_of_what_it_sees(head, prior):
    decoded = prior.avatar(code=prior.codes[0])
    photos = _photos(head, _recoloured(decoded, TRUE))
    start = _recoloured(decoded, [0.2, 0.2, 0.2])
    out, info = project_photos(start, head, photos)
    assert info["frames"] == 1 and info["mean_change"] > 0
    for k in ("offsets", "log_scales", "quats", "opacity_logits"):
        assert torch.equal(getattr(out, k), getattr(start, k))
    before, after = _psnr_in_view(head, start, photos), _psnr_in_view(head, out, photos)
    assert after > before + 10, (before, after)
    # hidden from the frontal photo (B = 0): the colour stays; well covered: moved more than half way to the truth
    vertices, cameras, images, mattes = posed_frames(head, photos, [0], "cpu")
    plan = PosingPlan(start.faces, start.face_ids, start.barycentrics)
    A, B = projection_sums(plan, start.attributes(), vertices, cameras, images, mattes)
    hidden, seen = B[:, 0] == 0, B[:, 0] > 2.0
    assert hidden.any() and seen.any()
    assert torch.equal(out.colors[hidden], start.colors[hidden])
    err_before = (start.colors[seen] - TRUE).abs().max(dim=1).values
    err_after = (out.colors[seen] - TRUE).abs().max(dim=1).values
    assert (err_after < 0.5 * err_before).float().mean() > 0.9  # one step: most of the way for nearly all
    damped, _ = project_photos(start, head, photos, lam=1e9)  # lam -> infinity: no change
    assert torch.allclose(damped.colors, start.colors, atol=1e-6)


def test_fit_projects_before_stage3_and_instant_mode_projects(head, prior):
    decoded = prior.avatar(code=prior.codes[0])
    photos = _photos(head, _recoloured(decoded, TRUE), (0.0, 30.0))
    cfg = FitConfig(steps_inversion=0, steps_decoder=0, steps_refine=0, stage1=False, stage2=False, stage3=False,
                    init="encoder", random_background=False)
    code = prior.codes[0].detach()
    logs = []
    plain = fit_avatar(prior, head, photos, cfg, init_code=code)
    projected = fit_avatar(prior, head, photos, cfg.replace(photo_projection=True), init_code=code, log=logs.append)
    expected, _ = project_photos(plain.avatar, head, photos)
    assert any("photo projection from 2 frame(s)" in m for m in logs)
    assert torch.allclose(projected.avatar.colors, expected.colors, atol=1e-5)
    assert torch.equal(projected.avatar.offsets, plain.avatar.offsets)
    assert _psnr_in_view(head, projected.avatar, photos) > _psnr_in_view(head, plain.avatar, photos) + 5
    with pytest.raises(Exception, match="photo_projection"):
        FitConfig(photo_projection="yes").validate()
