"""End to end on a tiny setup: a prior trained on synthetic ``prior``-domain people, a held-out ``real_proxy``
subject fitted from its FRONTAL camera only. The full method fills the head seen from behind and beats the same
fit without the prior on novel views (GASP §6.4-6.5)."""

import pytest
import torch

from gasp_ops.avatar import pose
from gasp_ops.fitting import FitConfig, fit_avatar
from gasp_ops.headmodel.procedural import ProceduralHead
from gasp_ops.prior.evaluate import psnr
from gasp_ops.render.render import render
from gasp_ops.synthetic.assets import PARTS
from tests.fitting_fixture import NOVEL_AZ, heldout_subject, train_tiny_prior

CONFIG = FitConfig(steps_inversion=40, steps_decoder=40, steps_refine=30, log_every=5, decoder_lr=5e-4)


@pytest.fixture(scope="module")
def setup():
    torch.set_num_threads(1)
    head = ProceduralHead()
    prior = train_tiny_prior(head, steps=100)
    front, novel, views = heldout_subject(head)
    return head, prior, front, novel, views


@torch.no_grad()
def _render(head, avatar, inputs):
    T = len(inputs)
    verts = head(inputs.identity[None].expand(T, -1), inputs.expressions, inputs.poses)
    return render(pose(avatar, verts), inputs.cameras)


def test_frontal_fit_fills_the_back_and_beats_no_prior(setup):
    head, prior, front, novel, views = setup
    assert len(front) == 1  # a single frontal image
    full = fit_avatar(prior, head, front, CONFIG, keep_stage_avatars=True)
    bare = fit_avatar(prior, head, front, CONFIG.replace(use_prior=False))
    assert list(full.history) == ["inversion", "decoder", "refine"] and set(full.stage_avatars) == set(full.history)

    gt = novel.images * novel.mattes[..., None]  # premultiplied ground truth over black
    out_full, out_bare = _render(head, full.avatar, novel), _render(head, bare.avatar, novel)
    p_full, p_bare = psnr(out_full.rgb, gt), psnr(out_bare.rgb, gt)
    assert float(p_full.mean()) > float(p_bare.mean()) + 1.0, (p_full, p_bare)

    # the back view (azimuth 180): the true head silhouette (head mesh + hair, coverage >= 0.5) from the renderer
    k = NOVEL_AZ.index(180.0)
    part = views.part_id[1 + k]
    head_mask = ((part == PARTS.index("head")) | (part == PARTS.index("hair"))) & (views.alpha[1 + k] >= 0.5)
    assert int(head_mask.sum()) > 100
    filled = (out_full.alpha[k, ..., 0][head_mask] >= 0.9).float().mean()
    assert float(filled) >= 0.9, float(filled)
    # and the fit reproduces its input view
    in_full = _render(head, full.avatar, front)
    assert float(psnr(in_full.rgb, front.images * front.mattes[..., None])) > 20.0
