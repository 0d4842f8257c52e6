"""Latent directions (Appendix B): the linear SVM recovers a planted direction; attribute labels from metadata."""

import numpy as np
import pandas as pd
import pytest
import torch

from gasp_ops.errors import GaspInputError
from gasp_ops.prior.latent_directions import edit_codes, fit_direction, fit_directions


def _planted(n=2000, dim=512, seed=0):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(dim, generator=g)
    w = w / w.norm()
    codes = 0.3 * torch.randn(n, dim, generator=g)
    labels = (codes @ w + 0.02 * torch.randn(n, generator=g)) > 0
    return codes, labels, w


def test_svm_recovers_a_planted_direction():
    codes, labels, w = _planted()
    d = fit_direction(codes, labels.numpy(), "planted")
    assert abs(float(d.direction.norm()) - 1.0) < 1e-5
    assert float(d.direction @ w) > 0.9, float(d.direction @ w)
    assert d.accuracy > 0.95
    edited = edit_codes(codes[0], d.direction, [-2.0, 0.0, 2.0])
    proj = edited @ w
    assert proj[0] < proj[1] < proj[2]


def test_directions_from_identity_metadata():
    codes, labels, w = _planted(n=600, dim=32, seed=1)
    n = len(codes)
    table = pd.DataFrame({"identity_id": [f"syn_{i:05d}" for i in range(n)],
                          "age_group": np.where(labels.numpy(), "old", "young"),
                          "facial_hair": labels.numpy(), "long_hair": np.zeros(n, bool)})
    out = fit_directions(codes, table.iloc[::-1], list(table.identity_id))  # row order must not matter
    assert set(out) == {"age_old", "facial_hair"}  # long_hair has one class only: skipped
    assert float(out["age_old"].direction @ w) > 0.9
    with pytest.raises(GaspInputError, match="needs subjects with and without"):
        fit_direction(codes, np.ones(n, bool), "all_true")
