"""Paired held-out differences grouped by the people's generator attributes (benchmarks/heldout_by_attribute.py)."""

import pandas as pd
import pytest

from benchmarks.heldout_by_attribute import (
    ATTRIBUTES,
    identity_attributes,
    main,
    paired_by_attribute,
)
from gasp_ops.errors import GaspInputError


def _table(diffs: dict[int, float]) -> pd.DataFrame:
    rows = []
    for s, d in diffs.items():
        for v, base in (("a", 20.0 + d), ("b", 20.0)):
            rows.append({"variant": v, "label": f"variant {v}", "statistic": "value", "subject": s,
                         "psnr_novel": base, "psnr_back": base - 1.0, "commit": "abc1234", "device": "cpu",
                         "date": "2026-12-03", "fit_steps": "5/5/1", "resolution": 64})
    rows.append({**rows[0], "statistic": "mean", "subject": -1})  # summary rows are ignored
    return pd.DataFrame(rows)


def test_groups_split_the_people_and_agree_with_the_overall_difference():
    diffs = {0: 1.0, 1: 3.0, 2: -1.0, 3: 2.0, 4: 5.0}
    attrs = identity_attributes(list(diffs))
    assert list(attrs.subject) == list(diffs) and set(ATTRIBUTES) <= set(attrs.columns)
    assert identity_attributes([3]).equals(attrs[attrs.subject == 3].reset_index(drop=True))  # deterministic
    g = paired_by_attribute(_table(diffs), "a", "b", attrs)
    overall = g[g.attribute == "all"].iloc[0]
    assert overall.n == 5 and overall.novel_mean == pytest.approx(2.0) and overall.novel_a_better == 4
    assert overall.back_mean == pytest.approx(2.0)  # both shifted by 1 dB: the difference is unchanged
    for attr in ATTRIBUTES:  # every attribute's groups partition the five people, weighted means = overall
        part = g[g.attribute == attr]
        assert part.n.sum() == 5
        assert (part.novel_mean * part.n).sum() / 5 == pytest.approx(2.0)


def test_bad_variant_and_table_are_one_line_errors(tmp_path, capsys):
    table = _table({0: 1.0, 1: 2.0})
    with pytest.raises(GaspInputError, match="variant c: not in the table"):
        paired_by_attribute(table, "c", "b", identity_attributes([0, 1]))
    path = tmp_path / "t.parquet"
    table.to_parquet(path)
    main(["--table", str(path), "--a", "a", "--b", "b", "--out", str(tmp_path / "by")])
    md = (tmp_path / "by.md").read_text()
    assert "| all | all | 2 | +1.50 (0.50) | 2/2 |" in md and "Commit: abc1234" in md
    assert pd.read_parquet(tmp_path / "by.parquet").commit.eq("abc1234").all()
    with pytest.raises(SystemExit):
        main(["--table", str(tmp_path / "missing.parquet"), "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert err.startswith("error: --table") and err.count("\n") == 1
