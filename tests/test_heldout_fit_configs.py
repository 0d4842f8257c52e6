"""benchmarks/gpu_heldout_fits.py: the fit settings of each prior name (--set for all, --prior-set for one)."""

from __future__ import annotations

import pytest

from benchmarks.gpu_heldout_fits import fit_configs
from gasp_ops.fitting.config import FitConfig, default_fit_config


def test_prior_set_changes_only_its_prior_and_groups_merge_key_by_key():
    configs = fit_configs("paper", ['lr={"colour": 0.01}'],
                          ["pw3:prior_weight=3", 'pw3:loss={"alpha": 2.0}', "proj:photo_projection=true"],
                          ["base", "pw3", "proj"])
    base = FitConfig.from_dict(configs["base"])
    assert base == default_fit_config("paper", lr={"colour": 0.01})
    pw3 = FitConfig.from_dict(configs["pw3"])
    assert pw3.prior_weight == 3 and pw3.loss.alpha == 2.0 and pw3.lr.colour == 0.01
    assert pw3.loss.l1 == base.loss.l1 and pw3.lr.position == base.lr.position  # the rest of each group kept
    proj = FitConfig.from_dict(configs["proj"])
    assert proj.photo_projection and proj.prior_weight == base.prior_weight
    assert not base.photo_projection and base.prior_weight == 1.0


@pytest.mark.parametrize("item, message", [
    ("other:prior_weight=3", "NAME one of base"),
    ("base-prior_weight=3", "NAME one of base"),
    ("base:prior_weight", "expected KEY=JSON"),
    ("base:prior_weight=three", "not JSON"),
    ("base:prior_weight=-1", "prior_weight"),
    ("base:no_such_key=1", "no_such_key"),
])
def test_bad_prior_set_is_one_line(item, message):
    with pytest.raises(ValueError, match=message) as info:
        fit_configs("paper", [], [item], ["base"])
    assert "\n" not in str(info.value)
