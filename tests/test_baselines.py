"""The no-prior baselines of Tabs. 1-2 (gaussian_avatars-style, flash_avatar-style): densification, the expression
MLP, training on a tiny held-out subject, evaluation through the render protocol, table names."""

import math

import pandas as pd
import pytest
import torch

from gasp_ops.fitting import default_fit_config
from gasp_ops.fitting.baselines import (METHOD_LABELS, DensifyConfig, FlashConfig, densify_and_prune,
                                        fit_flash_avatar_style, fit_gaussian_avatars_style)
from gasp_ops.seeding import generator


@pytest.fixture(scope="module")
def subject(head):
    from tests.fitting_fixture import heldout_subject

    return heldout_subject(head)


def _attrs(n):
    g = torch.Generator().manual_seed(0)
    q = torch.zeros(n, 4)
    q[:, 0] = 1
    return {"offsets": torch.randn(n, 3, generator=g) * 0.1, "log_scales": torch.full((n, 3), -1.0), "quats": q,
            "colors": torch.rand(n, 3, generator=g), "opacity_logits": torch.full((n,), 2.0)}


def test_densify_and_prune_clones_splits_prunes_and_keeps_bindings():
    n = 8
    attrs = _attrs(n)
    attrs["opacity_logits"][7] = -8.0  # opacity 3e-4 < 0.005: pruned
    face_ids = torch.arange(n) * 3
    grad = torch.tensor([1e-3, 1e-3, 1e-3, 1e-5, 0.0, float("nan"), 1e-5, 1e-5])
    world = torch.tensor([1e-4, 1e-4, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])  # 0, 1 small (clone), 2 big (split)
    cfg = DensifyConfig(grad_threshold=2e-4, percent_dense=0.01, min_opacity=0.005)
    new, source, counts = densify_and_prune(attrs, face_ids, grad, world, 1.0, cfg, generator(0, "t"))
    assert counts == {"kept": 6, "cloned": 2, "split": 1, "pruned": 1}
    N = new["offsets"].shape[0]
    assert N == n - 1 - 1 + 2 + 2 == source.numel()
    assert set(source.tolist()) == {0, 1, 2, 3, 4, 5, 6}  # 7 pruned, 2 replaced by its two children
    assert source[:6].tolist() == [0, 1, 3, 4, 5, 6] and source[6:8].tolist() == [0, 1]
    assert source[8:].tolist() == [2, 2]
    new_faces = face_ids[source]  # children inherit the parent's triangle
    assert new_faces[8:].tolist() == [6, 6]
    for k in new:  # clones are exact copies
        assert torch.equal(new[k][6], attrs[k][0]) and torch.equal(new[k][7], attrs[k][1])
    assert torch.allclose(new["log_scales"][8:], attrs["log_scales"][2] - math.log(1.6))
    assert not torch.allclose(new["offsets"][8], new["offsets"][9])  # sampled from the parent's Gaussian
    assert torch.equal(new["colors"][8], attrs["colors"][2])


def test_densify_respects_the_cap():
    attrs = _attrs(6)
    grad = torch.tensor([5e-3, 4e-3, 3e-3, 2e-3, 1e-3, 1e-5])
    new, source, counts = densify_and_prune(attrs, torch.zeros(6, dtype=torch.long), grad, torch.full((6,), 1e-4),
                                            1.0, DensifyConfig(), generator(0, "t"), max_count=8)
    assert new["offsets"].shape[0] == 8 and counts["cloned"] == 2 and source[6:].tolist() == [0, 1]


def _first_last_l1(result):
    h = result.history["direct"]
    return h["l1"][0], h["l1"][-1]


def test_gaussian_avatars_style_densifies_and_fits(head, subject):
    train, _, _ = subject
    cfg = default_fit_config("tiny", steps_inversion=0, steps_decoder=0, steps_refine=24, log_every=1,
                             random_background=False)
    densify = DensifyConfig(grad_threshold=1e-6, start=0.25, stop=0.6, interval=0.25)
    res = fit_gaussian_avatars_style(head, train, cfg, n_gaussians=300, densify=densify)
    s = res.stats
    assert s["rounds"] == 2 and s["cloned"] + s["split"] > 0
    assert s["final"] == 300 + s["cloned"] + s["split"] - s["pruned"] == res.avatar.count
    a = res.avatar
    assert a.face_ids.min() >= 0 and a.face_ids.max() < head.topology.faces.shape[0]
    assert torch.allclose(a.barycentrics.sum(-1), torch.ones(a.count), atol=1e-5) and (a.barycentrics >= 0).all()
    # The fit is judged between densification rounds: a split replaces each parent by two smaller children, so the
    # L1 jumps at each round (-4 % to +11 % measured) and first-vs-last mixes the fit with the jumps. One fixed
    # frame, no random background: every step must lower the L1, and the three stretches (steps 0-5, 6-11, 12-23)
    # together must remove >= 10 % of it. Measured over fit seeds 0-11 (torch 2.14.1, numpy 2.4.6) and 0-3 (torch
    # 2.13.0 CPU, numpy 1.26.4): each step -0.4 % or more (ratio <= 0.996), stretch ratios 0.930-0.936 /
    # 0.960-0.966 / 0.906-0.922, product 0.81-0.83, the same to +-0.002 in both environments; first-vs-last
    # 0.84-0.95 and it moves with rounding (seed 3: 0.954 vs 0.900 on torch 2.13, 0.944 with 2 threads: a few
    # splits more or fewer; seed 0: 0.881 here, 0.909 on another machine, where the old `last < 0.9 * first`
    # failed), so it is not asserted.
    l1 = res.history["direct"]["l1"]
    cuts = [0, *densify.steps(24), len(l1)]
    stretches = [l1[a:b] for a, b in zip(cuts[:-1], cuts[1:])]
    assert len(stretches) == 3 and all(y < x for g in stretches for x, y in zip(g[:-1], g[1:])), stretches
    assert math.prod(g[-1] / g[0] for g in stretches) <= 0.9, stretches


def test_flash_mlp_depends_on_expression_and_gets_gradients(head, subject):
    from gasp_ops.avatar import GaussianAvatar
    from gasp_ops.binding.uv_init import uv_binding
    from gasp_ops.fitting.baselines import FlashAvatarStyle

    b = uv_binding(head.topology, 16)
    av = GaussianAvatar.from_binding(head.topology, b, head.template)
    uv = torch.rand(b.count, 2, generator=torch.Generator().manual_seed(0))
    m = FlashAvatarStyle(av, uv, head.n_expression, FlashConfig(), torch.zeros(b.count, dtype=torch.bool))
    e0, e1 = torch.zeros(1, head.n_expression), torch.zeros(1, head.n_expression)
    e1[0, 0] = 1.0
    jaw = torch.zeros(1, 3)
    d0, d1 = m.deltas(e0, jaw), m.deltas(e1, jaw)
    assert d0.shape == (1, b.count, 10) and not torch.allclose(d0, d1)
    local = m.local(torch.cat([e0, e1]), torch.cat([jaw, jaw]))
    assert local["offsets"].shape == (2, b.count, 3) and local["colors"].shape == (b.count, 3)
    (local["offsets"] ** 2).sum().backward()
    first = m.mlp[0].weight.grad
    assert first is not None and float(first.abs().sum()) > 0


def test_flash_avatar_style_fits_and_evaluates(head, subject):
    from evaluation.avatar_eval import evaluate_avatar

    train, novel, _ = subject
    cfg = default_fit_config("tiny", steps_inversion=0, steps_decoder=0, steps_refine=24, log_every=1,
                             random_background=False)
    res = fit_flash_avatar_style(head, train, cfg, uv_resolution=16)
    first, last = _first_last_l1(res)
    assert last < 0.9 * first, (first, last)
    rows, preds = evaluate_avatar(res.avatar, train.identity, head, novel.subset([0, 1]), subject="s",
                                  setting="single_image", method=METHOD_LABELS["flash_avatar"],
                                  metrics=("psnr", "ssim"))
    assert len(preds) == 2 and preds[0].shape == (40, 40, 3) and float(preds[0].sum()) > 0
    assert rows.value.notna().all() and set(rows.method) == {"flash_avatar-style (ours)"}


def test_table_names_and_order():
    from evaluation.tables import table1

    assert METHOD_LABELS["gaussian_avatars"] == "gaussian_avatars-style (ours)"
    assert METHOD_LABELS["flash_avatar"] == "flash_avatar-style (ours)"
    rows = [dict(subject=s, setting=st, method=METHOD_LABELS[m], camera="c", frame=0, metric="psnr", value=v,
                 backend="masked_mse")
            for s in ("900", "901") for st in ("single_image", "monocular")
            for m, v in (("flash_avatar", 10.0), ("gasp", 12.0), ("gaussian_avatars", 11.0))]
    df = table1(pd.DataFrame(rows))
    assert list(df.setting) == ["monocular"] * 3 + ["single_image"] * 3
    assert list(df.method[:3]) == ["GASP (ours)", "gaussian_avatars-style (ours)", "flash_avatar-style (ours)"]
    assert (df.subjects == 2).all() and df.psnr.tolist()[:3] == [12.0, 11.0, 10.0]
