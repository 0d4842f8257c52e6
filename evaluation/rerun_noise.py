"""Run-to-run noise of a fit: the same fit (same ``fit_id``, same commit) fitted twice on the GPU.

gsplat's backward pass accumulates with atomics, so two runs of one fit at one seed are not bit-identical and their
novel-view PSNR differs; on the H200 (2026-12-02, 10 refits at commit dcd3f71) mostly by < 0.15 dB, once by 1.0 dB.
A difference between two rows of a table is only meaningful beyond that noise. For a difference of two rows' means
over ``n`` people, each row's person PSNR carrying independent run noise of standard deviation s, the difference's
standard deviation is sqrt(2) * s / sqrt(n); a refit pair's difference has standard deviation sqrt(2) * s, so the rms of
the pair differences d estimates sqrt(2) * s and the tolerance (2 sigma) is ``2 * rms(d) / sqrt(n)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def fit_psnr(record: dict) -> float:
    """Mean PSNR over a fit row's test frames (``metric_rows`` with metric "psnr"); NaN without any."""
    values = [m["value"] for m in record.get("metric_rows") or [] if m.get("metric") == "psnr"]
    return sum(values) / len(values) if values else float("nan")


def refit_pairs(records: Iterable[dict]) -> list[tuple[str, float, float]]:
    """(fit_id, PSNR of the earlier run, PSNR of the later run) for each successful fit row whose ``fit_id``,
    ``commit``, prior (``prior_sha256``: a retrained prior makes another fit) and step budget (``steps``: a baseline
    run longer is another fit) an earlier successful row already had (rows in the order given; a third run pairs
    with the second).
    A row of the same run seen again (a call's tar and its kept rows both given: same call date, same PSNR) is no
    refit and pairs with nothing."""
    last: dict[tuple[str, str, str, str], tuple[float, str]] = {}
    pairs = []
    for r in records:
        if "error" in r:
            continue
        psnr = fit_psnr(r)
        if math.isnan(psnr):
            continue
        key = (str(r.get("fit_id")), str(r.get("commit")), str(r.get("prior_sha256", "")), str(r.get("steps", "")))
        run = (psnr, str(r.get("date")))
        if key in last and last[key] == run:
            continue
        if key in last:
            pairs.append((key[0], last[key][0], psnr))
        last[key] = run
    return pairs


def mean_difference_tolerance(pairs: list[tuple[str, float, float]], people: int) -> float:
    """Two standard deviations of the run noise of a difference between two rows' means over ``people`` people,
    from refit ``pairs`` (``2 * rms(d) / sqrt(people)``); NaN without pairs."""
    if not pairs or people < 1:
        return float("nan")
    rms = math.sqrt(sum((b - a) ** 2 for _, a, b in pairs) / len(pairs))
    return 2.0 * rms / math.sqrt(people)


def noise_line(pairs: list[tuple[str, float, float]], people: int) -> str:
    """One Markdown line stating the refits, their PSNR differences and the tolerance for ``people`` people."""
    if not pairs:
        return "- rerun noise: no fit was refitted at the same commit in these sources"
    diffs = sorted(abs(b - a) for _, a, b in pairs)
    worst = max(pairs, key=lambda p: abs(p[2] - p[1]))
    median = diffs[len(diffs) // 2] if len(diffs) % 2 else 0.5 * (diffs[len(diffs) // 2 - 1] + diffs[len(diffs) // 2])
    return (f"- rerun noise: {len(pairs)} fits refitted at the same commit: |ΔPSNR| median {median:.2f} dB, max "
            f"{worst[2] - worst[1]:+.2f} dB ({worst[0]}); 2σ of a difference of two rows' means over {people} people: "
            f"{mean_difference_tolerance(pairs, people):.2f} dB (evaluation/rerun_noise.py)")
