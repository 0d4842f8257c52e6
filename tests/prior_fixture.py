"""Shared small data for the prior tests: teacher views (gasp_ops.prior.toy_dataset) and a tiny config."""

import torch

from gasp_ops.prior.config import LearningRates, PriorConfig

SIZE = 48
UV = 24


def tiny_config(**changes) -> PriorConfig:
    """UV 24 (~350 Gaussians), hidden 64 (the paper's 256 is tested for shapes only), fast learning rates."""
    base = dict(uv_resolution=UV, steps=30, batch_size=4, hidden=64, log_every=1, checkpoint_every=1000,
                lr=LearningRates(decoder=2e-3, codes=3e-2, features=3e-3))
    return PriorConfig(**{**base, **changes}).validate()


def views_for(head, n_subjects=3, n_views=4, seed=0):
    from gasp_ops.prior.toy_dataset import toy_views

    torch.set_num_threads(2)
    return toy_views(head, n_subjects, n_views, SIZE, uv_resolution=UV, seed=seed)
