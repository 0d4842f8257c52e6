"""``face_net_grabcut`` matte (GrabCut seeded by the head, face_net's alpha as cue; ``matting_face_net``,
``matting_cue``): real hair the cue misses is kept, and on held-out synthetic photos over clutter where GrabCut
alone takes in background it reaches the issue's IoU >= 0.95."""

import numpy as np
import torch

from gasp_ops.capture.matting_cue import cued_grabcut_matte
from gasp_ops.capture.matting_face_net import CUE_OPTIONS


def _iou(a, b):
    a, b = a > 0.5, b > 0.5
    return float((a & b).sum() / max(1, (a | b).sum()))


def test_hair_the_cue_misses_beyond_the_tracked_head_is_kept():
    """A brown head disc with a hair tuft above it, outside the tracked head's probable region; the cue (a
    network's alpha) has the disc but not the tuft. With ``CUE_OPTIONS`` GrabCut keeps the tuft by colour; without
    the margin the tuft would be definite background (this test fails then)."""
    rng = np.random.default_rng(0)
    H = W = 128
    yy, xx = np.mgrid[:H, :W]
    disc = (yy - 72) ** 2 + (xx - 64) ** 2 < 30 ** 2
    tuft = (np.abs(xx - 64) < 14) & (yy >= 28) & (yy < 44)  # hair above the disc, beyond the dilated head
    person = disc | tuft
    img = np.where(person[..., None], [120, 80, 40], [60, 120, 200]).astype(np.float32)
    img = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)
    sure = (yy - 72) ** 2 + (xx - 64) ** 2 < 15 ** 2
    probable = (yy - 72) ** 2 + (xx - 64) ** 2 < 33 ** 2
    cue = disc.astype(np.float32)
    alpha = cued_grabcut_matte(img, cue, sure, probable, **CUE_OPTIONS)
    assert (alpha[tuft] > 0.5).mean() > 0.95 and _iou(alpha, person) > 0.95
    no_margin = cued_grabcut_matte(img, cue, sure, probable, **{**CUE_OPTIONS, "margin": 0.0})
    assert (no_margin[tuft] > 0.5).mean() < 0.5  # the case the margin is for


def test_beats_grabcut_on_held_out_cluttered_photos():
    """Identities 9001 / 9005 / 9018 (seed 0, never in face_net's training pool 20000..) over clutter: GrabCut alone
    with the exact-pose seeds measured 0.83 / 0.88 / 0.72 IoU, face_net_grabcut 0.997 / 0.996 / 0.972 (2-core CPU,
    2026-12-01; 9018 is dark hair over a dark background: 0.73 without ``certain``)."""
    from gasp_ops.capture.face_net import load_face_net, predict
    from gasp_ops.capture.matting_grabcut import grabcut_matte
    from gasp_ops.capture.seeds import grabcut_seeds
    from gasp_ops.capture.synthetic_faces import render_face_photos
    from gasp_ops.headmodel.procedural import ProceduralHead

    torch.set_num_threads(1)
    head, net = ProceduralHead(), load_face_net()
    for index in (9001, 9005, 9018):
        ph = render_face_photos(head, 1, 256, seed=0, first_index=index, background="clutter")
        fa = predict(net, ph.rgb)[0][0]
        sure, prob = grabcut_seeds(head, ph.vertices[0], ph.cameras[0])
        ours = _iou(ph.alpha[0], cued_grabcut_matte(ph.rgb[0], fa, sure, prob, **CUE_OPTIONS))
        alone = _iou(ph.alpha[0], grabcut_matte(ph.rgb[0], sure, prob))
        assert ours >= 0.95 and ours > alone + 0.05, (index, ours, alone)
