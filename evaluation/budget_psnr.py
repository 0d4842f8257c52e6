"""Test PSNR of one fit at each step budget it was run with: whether a baseline's budget holds it back.

A baseline's training loss can keep drifting down long after its novel-view quality stopped improving (a single
frontal image is memorised ever more exactly). The tables' sources keep every run of a fit, so the same fit at two
budgets (say 3,000 and 4,500 steps) answers the question directly: did the extra steps raise its test PSNR?
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from evaluation.rerun_noise import fit_psnr


def psnr_by_budget(records: Iterable[dict], variants: Iterable[str]) -> dict[tuple[str, str], dict[int, dict[str, float]]]:
    """{(setting, method): {steps: {subject: test PSNR}}} of the successful rows of ``variants`` with an integer step
    budget (the baselines'; GASP's "500/500/100" is skipped); a later row of the same fit and budget wins."""
    wanted = set(variants)
    out: dict[tuple[str, str], dict[int, dict[str, float]]] = {}
    for r in records:
        steps = str(r.get("steps", ""))
        if "error" in r or r.get("variant") not in wanted or not steps.isdigit():
            continue
        psnr = fit_psnr(r)
        if math.isnan(psnr):
            continue
        out.setdefault((str(r["setting"]), str(r["method"])), {}).setdefault(int(steps), {})[str(r["subject"])] = psnr
    return out


def budget_lines(by_budget: dict[tuple[str, str], dict[int, dict[str, float]]],
                 settings: Iterable[str]) -> list[str]:
    """One Markdown line per (setting, method) of ``settings`` run at two or more budgets: its mean test PSNR at each
    budget over the people every budget has (none in common: no line)."""
    lines, wanted = [], set(settings)
    for (setting, method), budgets in sorted(by_budget.items()):
        if setting not in wanted or len(budgets) < 2:
            continue
        people = set.intersection(*(set(p) for p in budgets.values()))
        if not people:
            continue
        means = {s: sum(budgets[s][p] for p in people) / len(people) for s in sorted(budgets)}
        steps = sorted(means)
        lines.append(f"- {setting} / {method}: test PSNR " + " -> ".join(f"{means[s]:.2f} dB at {s:,}" for s in steps)
                     + f" steps ({means[steps[-1]] - means[steps[0]]:+.2f} dB, same {len(people)} people)")
    return lines
