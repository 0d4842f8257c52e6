"""evaluation/budget_psnr.py: a baseline's test PSNR at each step budget it was run with, from the tables' rows."""

from __future__ import annotations

import pytest

from evaluation.budget_psnr import budget_lines, psnr_by_budget


def _row(variant, subject, steps, psnr, setting="single_image", **extra):
    method = {"gaussian_avatars": "gaussian_avatars-style (ours)", "gasp": "GASP (ours)"}[variant]
    return {"fit_id": f"{setting}/{variant}/{subject}", "variant": variant, "method": method, "setting": setting,
            "subject": subject, "steps": steps,
            "metric_rows": [{"metric": "psnr", "value": psnr}, {"metric": "psnr", "value": psnr + 2},
                            {"metric": "ssim", "value": 0.5}], **extra}


def test_means_over_the_people_every_budget_has():
    records = [_row("gaussian_avatars", "rp010", "3000", 12.0), _row("gaussian_avatars", "rp011", "3000", 14.0),
               _row("gaussian_avatars", "rp012", "3000", 30.0),  # only at one budget: left out of both means
               _row("gaussian_avatars", "rp010", "4500", 10.0), _row("gaussian_avatars", "rp011", "4500", 11.0),
               _row("gaussian_avatars", "rp010", "4500", 11.0),  # a later run of the same fit and budget wins
               _row("gaussian_avatars", "rp011", "4500", 99.0, error="oom"),  # a failed run counts for nothing
               _row("gasp", "rp010", "500/500/100", 20.0)]  # GASP's staged budget is not a baseline budget
    by = psnr_by_budget(records, ("gaussian_avatars", "flash_avatar"))
    assert list(by) == [("single_image", "gaussian_avatars-style (ours)")]
    assert by[("single_image", "gaussian_avatars-style (ours)")][4500] == pytest.approx({"rp010": 12.0, "rp011": 12.0})
    (line,) = budget_lines(by, ("single_image", "monocular"))
    # 3,000: (13 + 15) / 2 = 14.00 dB over rp010 / rp011; 4,500: (12 + 12) / 2 = 12.00 dB
    assert line == ("- single_image / gaussian_avatars-style (ours): test PSNR 14.00 dB at 3,000 -> 12.00 dB at "
                    "4,500 steps (-2.00 dB, same 2 people)")
    assert budget_lines(by, ("multi_camera",)) == []


def test_one_budget_or_no_common_people_gives_no_line():
    one = psnr_by_budget([_row("gaussian_avatars", "rp010", "3000", 12.0)], ("gaussian_avatars",))
    assert budget_lines(one, ("single_image",)) == []
    apart = psnr_by_budget([_row("gaussian_avatars", "rp010", "3000", 12.0),
                            _row("gaussian_avatars", "rp011", "4500", 12.0)], ("gaussian_avatars",))
    assert budget_lines(apart, ("single_image",)) == []
