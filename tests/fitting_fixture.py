"""Shared small data for the fitting tests: a tiny prior trained on synthetic ``prior``-domain renders, and a
held-out ``real_proxy`` subject (not in the prior) with ground truth from the synthetic mesh renderer."""

import torch

from gasp_ops.prior.config import LearningRates, PriorConfig

SIZE = 40
UV = 32
#: Cameras of the held-out subject: the input (front) and the novel views (left, back, right).
FRONT_AZ, NOVEL_AZ = 0.0, (60.0, 180.0, -60.0, 120.0, -120.0)


def synthetic_prior_views(head, n_subjects=6, n_views=10, seed=3):
    """PriorViews of ``prior``-domain synthetic people (premultiplied renders over black)."""
    from gasp_ops.prior.dataset_batches import PriorViews
    from gasp_ops.synthetic import render_views, sample_cameras, sample_expressions, sample_identity

    rows = dict(rgb=[], alpha=[], subject=[], view=[], expr=[], w2c=[], K=[], pose=[])
    coeffs = []
    for j in range(n_subjects):
        ident = sample_identity(j, seed, head, domain="prior", overrides={"hairstyle": "short"} if j % 2 else None)
        cams, _, _ = sample_cameras(n_views, seed, SIZE, head=head, label=j)
        expr, pose = sample_expressions(range(j * n_views, (j + 1) * n_views), seed, head)
        v = render_views(head, ident, expr, pose, cams, domain="prior", supersample=2, texture_size=64)
        rows["rgb"].append(v.rgb); rows["alpha"].append(v.alpha)
        rows["subject"] += [j] * n_views; rows["view"] += list(range(n_views))
        rows["expr"].append(expr); rows["w2c"].append(cams.world_to_cam); rows["K"].append(cams.K); rows["pose"].append(pose)
        coeffs.append(ident.identity)
    pose_fields = {k: torch.cat([getattr(p, k) for p in rows["pose"]]) for k in ("rotation", "translation", "neck", "jaw", "eyes")}
    return PriorViews.from_tensors(torch.cat(rows["rgb"]), torch.cat(rows["alpha"]), torch.tensor(rows["subject"]),
                                   torch.tensor(rows["view"]), torch.cat(rows["expr"]), pose_fields,
                                   torch.cat(rows["w2c"]), torch.cat(rows["K"]), torch.stack(coeffs),
                                   [f"syn_{j:03d}" for j in range(n_subjects)], holdout_views=1)


def tiny_prior_config(**changes) -> PriorConfig:
    base = dict(uv_resolution=UV, steps=150, batch_size=4, hidden=64, code_dim=32, log_every=10,
                checkpoint_every=10_000, lr=LearningRates(decoder=2e-3, codes=3e-2, features=3e-3))
    return PriorConfig(**{**base, **changes}).validate()


def train_tiny_prior(head, steps=150):
    from gasp_ops.prior.trainer import train_prior

    torch.manual_seed(0)
    views = synthetic_prior_views(head)
    return train_prior(tiny_prior_config(steps=steps), views, head, None, progress=False).model.eval()


def heldout_subject(head, index=100, seed=11):
    """(FitInputs of the frontal view, FitInputs of the novel views, SyntheticViews of the novel views)."""
    from gasp_ops.fitting.inputs import from_synthetic
    from gasp_ops.synthetic import fixed_cameras, sample_expressions, sample_identity

    ident = sample_identity(index, seed, head, domain="real_proxy", overrides={"hairstyle": "short"})
    az = [FRONT_AZ, *NOVEL_AZ]
    cams = fixed_cameras(az, [5.0] * len(az), SIZE, head=head)
    expr, pose = sample_expressions([0] * len(az), seed, head)  # one expression (one moment, several cameras)
    inputs, views = from_synthetic(head, ident, cams, expr, pose, domain="real_proxy", supersample=2)
    return inputs.subset([0]), inputs.subset(list(range(1, len(az)))), views
