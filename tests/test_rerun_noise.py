"""Refit pairs and the run-noise tolerance of a difference of two rows' means."""

import math

from evaluation.rerun_noise import (
    fit_psnr,
    mean_difference_tolerance,
    noise_line,
    refit_pairs,
)


def row(fit_id, commit, *psnrs, error=None):
    r = {"fit_id": fit_id, "commit": commit,
         "metric_rows": [{"metric": "psnr", "value": v} for v in psnrs] + [{"metric": "ssim", "value": 0.5}]}
    if error:
        r["error"] = error
    return r


def test_fit_psnr_is_the_mean_over_psnr_rows_only():
    assert fit_psnr(row("a", "c", 10.0, 20.0)) == 15.0
    assert math.isnan(fit_psnr({"fit_id": "a"}))


def test_pairs_need_the_same_fit_and_commit_and_skip_failures():
    rows = [row("a", "c1", 10.0), row("a", "c2", 11.0), row("b", "c1", 5.0), row("a", "c1", 10.5),
            row("b", "c1", 0.0, error="boom"), row("a", "c1", 9.5)]
    assert refit_pairs(rows) == [("a", 10.0, 10.5), ("a", 10.5, 9.5)]


def test_a_retrained_prior_makes_another_fit_not_a_refit():
    old, new = row("prior_size/prior_p100/rp010", "c1", 18.0), row("prior_size/prior_p100/rp010", "c1", 18.5)
    old["prior_sha256"], new["prior_sha256"] = "09b8", "a23b"
    assert refit_pairs([old, new]) == []
    assert refit_pairs([old, {**new, "prior_sha256": "09b8"}]) == [("prior_size/prior_p100/rp010", 18.0, 18.5)]


def test_a_longer_budget_makes_another_fit_not_a_refit():
    """Table 1's baselines ran at 3,000 and at 4,500 steps under one fit id and commit."""
    short, long_ = row("single_image/gaussian_avatars/rp010", "c1", 12.7), row("single_image/gaussian_avatars/rp010", "c1", 12.6)
    short["steps"], long_["steps"] = "3000", "4500"
    assert refit_pairs([short, long_]) == []
    assert refit_pairs([short, {**long_, "steps": "3000"}]) == [("single_image/gaussian_avatars/rp010", 12.7, 12.6)]


def test_the_same_run_given_twice_is_no_refit():
    """A call's tar and its kept rows (results/raw) hold the same run: same date, same PSNR."""
    first, again = row("a", "c1", 10.0), row("a", "c1", 10.0)
    first["date"] = again["date"] = "2026-12-02T11:34Z"
    later = {**row("a", "c1", 10.0), "date": "2026-12-02T12:10Z"}  # a refit that happens to score the same
    assert refit_pairs([first, again]) == []
    assert refit_pairs([first, again, later]) == [("a", 10.0, 10.0)]


def test_tolerance_scales_with_rms_and_people():
    pairs = [("a", 0.0, 0.3), ("b", 1.0, 0.6)]  # rms of the differences: 0.35355...
    assert math.isclose(mean_difference_tolerance(pairs, 1), 2 * math.sqrt((0.09 + 0.16) / 2))
    assert math.isclose(mean_difference_tolerance(pairs, 4), mean_difference_tolerance(pairs, 1) / 2)
    assert math.isnan(mean_difference_tolerance([], 5))


def test_noise_line_names_the_worst_refit():
    line = noise_line([("x", 1.0, 1.1), ("y", 2.0, 3.0), ("z", 1.0, 1.0)], 5)
    assert "3 fits" in line and "(y)" in line and "+1.00 dB" in line and "median 0.10" in line
    assert "no fit was refitted" in noise_line([], 5)
