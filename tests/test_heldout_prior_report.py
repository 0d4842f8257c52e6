"""benchmarks/heldout_prior_report.py on a tiny synthetic run: 2 variants x 2 subjects with fake strips, in tmp_path."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gasp_ops.errors import GaspInputError

TILE = 24  # px per view in the sheets; the fake strips are 8 px and get upscaled
H = 8


def _module():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "heldout_prior_report.py"
    spec = importlib.util.spec_from_file_location("heldout_prior_report", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _png(colours) -> str:
    """base64 PNG of len(colours) flat H x H squares side by side."""
    strip = np.concatenate([np.full((H, H, 3), c, np.uint8) for c in colours], axis=1)
    buf = io.BytesIO()
    Image.fromarray(strip).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


#: (prior, subject) -> psnr_novel, psnr_back, psnr_input, ssim_novel, fit_seconds
VALUES = {("none", 0): (14.0, 12.0, 36.0, 0.50, 60.0), ("none", 1): (16.0, 13.0, 35.0, 0.54, 64.0),
          ("shipped_long", 0): (21.0, 20.0, 30.0, 0.70, 70.0), ("shipped_long", 1): (24.0, 23.5, 31.0, 0.72, 76.0)}
#: Flat colours of the fake strips: every (kind, subject) gets its own, different per view.
COLOURS = {(k, s): [(40 + 60 * i + 20 * s, 200 - 50 * i, 30 * v + 10) for v in range(3)]
           for i, k in enumerate(("none", "shipped_long", "truth", "input")) for s in (0, 1)}


def _write_run(tmp_path) -> tuple[Path, Path]:
    rows = []
    for (prior, s), (novel, back, inp, ssim, secs) in VALUES.items():
        row = {"domain": "real_proxy", "subject": s, "prior": prior, "fit_seconds": secs, "gaussians": 9900,
               "steps": [5, 5, 1], "psnr_input": inp, "psnr_novel": novel, "ssim_novel": ssim, "psnr_back": back,
               "psnr_per_view": [novel] * 4 + [back], "sheet": _png(COLOURS[(prior, s)]),
               "sheet_truth": _png(COLOURS[("truth", s)]), "input_image": _png(COLOURS[("input", s)][:1])}
        rows.append(row)
    jsonl = tmp_path / "fits.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    prov = {"commit": "abc1234", "device": "test device", "date": "2026-12-01", "resolution": H,
            "variants": {"none": {"label": "no prior", "identities": 0, "prior_steps": None, "prior_sha256": "",
                                  "command": "cmd a"},
                         "shipped_long": {"label": "shipped (1,000 ids, 11,453 steps)", "identities": 1000,
                                          "prior_steps": 11453, "prior_sha256": "f" * 64, "command": "cmd b"}}}
    prov_path = tmp_path / "prov.json"
    prov_path.write_text(json.dumps(prov))
    return jsonl, prov_path


def test_report_numbers_and_sheets(tmp_path):
    mod = _module()
    jsonl, prov = _write_run(tmp_path)
    raw_rows, strips = tmp_path / "raw" / "rows.jsonl", tmp_path / "raw" / "strips"
    res = mod.build([jsonl], prov, strips, tmp_path / "results", tmp_path / "docs", tile=TILE,
                    save_raw_to=(raw_rows, strips))
    t = res["table"]
    mean = t[t.statistic == "mean"].set_index("variant")
    std = t[t.statistic == "std"].set_index("variant")
    assert list(mean.index) == ["none", "shipped_long"]  # the provenance's order
    assert mean.psnr_novel["shipped_long"] == pytest.approx(22.5)
    assert std.psnr_novel["shipped_long"] == pytest.approx(np.std([21.0, 24.0], ddof=1))
    assert mean.psnr_back["none"] == pytest.approx(12.5) and mean.fit_seconds["none"] == pytest.approx(62.0)
    assert mean.ssim_novel["none"] == pytest.approx(0.52) and mean.psnr_input["shipped_long"] == pytest.approx(30.5)
    assert (mean.n_subjects == 2).all() and mean.prior_steps["none"] == "" and mean.prior_steps["shipped_long"] == "11453"
    assert set(t.command) == {"cmd a", "cmd b"} and (t.commit == "abc1234").all() and (t.fit_steps == "5/5/1").all()
    pair = next(p for p in res["pairs"] if (p["a"], p["b"]) == ("shipped_long", "none"))
    assert pair["mean"] == pytest.approx(7.5) and pair["min"] == pytest.approx(7.0) and pair["positive"] == 2
    assert pair["se"] == pytest.approx(0.5)  # differences 7 and 8: sample std 0.707 / sqrt(2)
    # 95 % interval: mean -+ t(0.975, 1 degree of freedom) = 12.706 standard errors.
    assert (pair["ci_low"], pair["ci_high"]) == pytest.approx((7.5 - 6.353, 7.5 + 6.353), abs=1e-3)
    assert not any(p["b"] == "main_job" for p in res["pairs"])  # absent variants give no pair

    # Parquet and Markdown agree with the table.
    from gasp_ops.io.tables import read_parquet

    back = read_parquet(res["parquet"])
    assert len(back) == 4 + 2 * 2 and back[back.statistic == "mean"].psnr_novel.tolist() == pytest.approx([15.0, 22.5])
    md = res["markdown"].read_text()
    assert "22.50 ± 2.12" in md and "| shipped (1,000 ids, 11,453 steps) − no prior | 2 | +7.50 | 0.50 | +1.15 … +13.85 | +7.00 |" in md

    # Contact sheet: input | shipped_long | none | truth (main_job absent), two subjects, 3 views each.
    sheet = np.asarray(Image.open(res["contact_sheet"]).convert("RGB"))
    title_lines = max(len(mod._wrap(x, mod._font(mod.FONT), TILE - 4))
                      for x in ("input (the one fitted image)", "shipped (1,000 ids, 11,453 steps)", "no prior",
                                "ground truth"))
    assert sheet.shape[:2] == mod.sheet_size(4, 2, TILE, title_lines)
    head = sheet.shape[0] - mod.sheet_size(4, 2, TILE, 0)[0] + 8  # header height
    block = 3 * (TILE + mod.PAD) + mod.PAD + 2 * mod.PAD

    def tile_centre(subject, view, column):
        y = head + subject * block + mod.PAD + view * (TILE + mod.PAD) + TILE - 3  # low in the tile: clear of captions
        x = mod.LEFT + mod.PAD + column * (TILE + mod.PAD) + TILE // 2
        return tuple(sheet[y, x])

    for s in (0, 1):
        for v in range(3):
            assert tile_centre(s, v, 1) == COLOURS[("shipped_long", s)][v]
            assert tile_centre(s, v, 2) == COLOURS[("none", s)][v]
            assert tile_centre(s, v, 3) == COLOURS[("truth", s)][v]
        assert tile_centre(s, 0, 0) == COLOURS[("input", s)][0] and tile_centre(s, 1, 0) == (255, 255, 255)

    # The compact rows carry no images; rebuilding from them + the saved strips gives the same table and sheet.
    compact = [json.loads(x) for x in raw_rows.read_text().splitlines()]
    assert len(compact) == 4 and not any({"sheet", "sheet_truth", "input_image"} & set(r) for r in compact)
    assert sorted(p.name for p in strips.iterdir()) == sorted(
        f"s{s}_{k}.png" for k in ("input", "truth", "none", "shipped_long") for s in (0, 1))
    again = mod.build([raw_rows], prov, strips, tmp_path / "results2", tmp_path / "docs2", tile=TILE)
    assert again["table"].equals(t)
    assert np.array_equal(np.asarray(Image.open(again["contact_sheet"]).convert("RGB")), sheet)
    assert Image.open(res["chart"]).size[0] > 400


def test_bad_rows_are_one_line_naming_file_and_field(tmp_path):
    mod = _module()
    jsonl, prov = _write_run(tmp_path)
    lines = jsonl.read_text().splitlines()
    bad = json.loads(lines[1])
    bad["psnr_novel"] = "nan?"
    jsonl.write_text("\n".join([lines[0], json.dumps(bad)]) + "\n")
    with pytest.raises(GaspInputError, match=r"fits\.jsonl: line 2: psnr_novel"):
        mod.build([jsonl], prov, tmp_path / "s", tmp_path / "r", tmp_path / "d", tile=TILE)
    jsonl.write_text(lines[0] + "\n" + lines[0] + "\n")
    with pytest.raises(GaspInputError, match="repeats"):
        mod.build([jsonl], prov, tmp_path / "s", tmp_path / "r", tmp_path / "d", tile=TILE)
    unknown = json.loads(lines[0])
    unknown["prior"] = "p7"
    jsonl.write_text(json.dumps(unknown) + "\n")
    with pytest.raises(GaspInputError, match="'p7' has no entry in the provenance"):
        mod.build([jsonl], prov, tmp_path / "s", tmp_path / "r", tmp_path / "d", tile=TILE)
    uniform = json.loads(lines[1])
    uniform["light"] = "uniform"  # a lighting-ablation row beside own-light rows: another truth, refused
    jsonl.write_text(lines[0] + "\n" + json.dumps(uniform) + "\n")
    with pytest.raises(GaspInputError, match=r"line 2: light: 'uniform', but .*line 1 is 'own'"):
        mod.build([jsonl], prov, tmp_path / "s", tmp_path / "r", tmp_path / "d", tile=TILE)
    assert not (tmp_path / "r").exists()  # nothing written before the inputs are checked


def test_a_study_names_its_outputs_sheets_and_metric_pairs(tmp_path):
    mod = _module()
    jsonl, prov = _write_run(tmp_path)
    study = mod.Study("equal_test", jsonl, prov, tmp_path / "strips",
                      {"contact_sheet": ("equal_sheet.png", ("input", "shipped_long", "truth"))},
                      (("shipped_long", "none", "psnr_novel"), ("shipped_long", "none", "psnr_back")))
    res = mod.build([jsonl], prov, tmp_path / "strips", tmp_path / "r", tmp_path / "d", tile=TILE, study=study)
    assert res["parquet"].name == "equal_test.parquet" and res["contact_sheet"] == tmp_path / "d" / "equal_sheet.png"
    assert "size_sheet" not in res and sorted(p.name for p in (tmp_path / "d").iterdir()) == ["equal_sheet.png"]
    back = next(p for p in res["pairs"] if p["metric"] == "psnr_back")
    assert back["mean"] == pytest.approx(9.25)  # (20 - 12 + 23.5 - 13) / 2
    md = res["markdown"].read_text()
    assert "| shipped (1,000 ids, 11,453 steps) − no prior (back-view PSNR) | 2 | +9.25 |" in md
    assert "| shipped (1,000 ids, 11,453 steps) − no prior | 2 | +7.50 |" in md


def test_borrowed_rows_join_under_this_studys_names(tmp_path):
    """A study that reports another run's fits too: those rows join under its variant names, the other variants of
    that file stay out, and a borrowed row that repeats one of the study's own is one clear error."""
    mod = _module()
    jsonl, prov = _write_run(tmp_path)
    other = tmp_path / "other.jsonl"
    base = {"domain": "real_proxy", "fit_seconds": 50.0, "psnr_input": 30.0, "ssim_novel": 0.6, "psnr_back": 20.0}
    other.write_text("".join(json.dumps({**base, "prior": p, "subject": s, "psnr_novel": v}) + "\n"
                             for p, s, v in (("shipped_old", 5, 26.0), ("ignored", 5, 1.0))))
    study = mod.Study("borrowing", jsonl, prov, tmp_path / "strips", {}, (("shipped_long", "none", "psnr_novel"),),
                      ((other, {"shipped_old": "shipped_long"}),))
    res = mod.build([jsonl], prov, tmp_path / "strips", tmp_path / "results", tmp_path / "docs", tile=TILE,
                    study=study)
    per = res["table"][res["table"].statistic == "value"]
    assert sorted(per[per.variant == "shipped_long"].subject) == [0, 1, 5]
    assert per[(per.variant == "shipped_long") & (per.subject == 5)].psnr_novel.item() == pytest.approx(26.0)
    assert set(per.variant) == {"none", "shipped_long"}
    assert res["pairs"][0]["n"] == 2  # subject 5 has no "none" row
    # --save-raw keeps this study's own rows only (a borrowed row there would clash with itself on the next run)
    raw = tmp_path / "raw" / "rows.jsonl"
    mod.build([jsonl], prov, tmp_path / "strips", tmp_path / "results3", tmp_path / "docs3", tile=TILE,
              save_raw_to=(raw, tmp_path / "raw" / "strips"), study=study)
    assert sorted((r["prior"], r["subject"]) for r in map(json.loads, raw.read_text().splitlines())) == sorted(VALUES)
    again = mod.build([raw], prov, tmp_path / "raw" / "strips", tmp_path / "results4", tmp_path / "docs4", tile=TILE,
                      study=study)
    assert again["table"].equals(res["table"])
    clash = mod.Study("borrowing", jsonl, prov, tmp_path / "strips", {}, (), ((other, {"shipped_old": "none"}),
                                                                             (jsonl, {"none": "none"})))
    with pytest.raises(GaspInputError, match=r"line 1: variant 'none' subject 0 repeats .*fits\.jsonl: line 1"):
        mod.build([jsonl], prov, tmp_path / "strips", tmp_path / "results2", tmp_path / "docs2", tile=TILE,
                  study=clash)


def test_a_sheet_names_its_subjects_and_shows_borrowed_strips(tmp_path, monkeypatch):
    """A sheet may list its own subjects; a borrowed variant's strips come from the strips folder of the study whose
    rows file it borrows (found by that file), under this study's variant name."""
    mod = _module()
    jsonl, prov = _write_run(tmp_path)
    other, other_strips = tmp_path / "other.jsonl", tmp_path / "other_strips"
    other.write_text(json.dumps({"domain": "real_proxy", "prior": "shipped_old", "subject": 5, "psnr_novel": 26.0,
                                 "fit_seconds": 50.0, "psnr_input": 30.0, "ssim_novel": 0.6, "psnr_back": 20.0}) + "\n")
    borrowed_colour = (250, 5, 250)
    other_strips.mkdir()
    (other_strips / "s5_shipped_old.png").write_bytes(base64.b64decode(_png([borrowed_colour] * 3)))
    strips = tmp_path / "strips"
    strips.mkdir()
    for kind in ("input", "truth"):  # subject 5's own input / truth strips, as --save-raw writes them
        (strips / f"s5_{kind}.png").write_bytes(base64.b64decode(_png(COLOURS[(kind, 0)][:1 if kind == "input" else 3])))
    source = mod.Study("source", other, prov, other_strips, {}, ())
    monkeypatch.setitem(mod.STUDIES, "source_test", source)
    study = mod.Study("sheets", jsonl, prov, strips,
                      {"named": ("named.png", ("input", "shipped_long", "truth"), (5,)),
                       "default": ("default.png", ("input", "shipped_long", "truth"))},
                      (), ((other, {"shipped_old": "shipped_long"}),))
    res = mod.build([jsonl], prov, strips, tmp_path / "r", tmp_path / "d", tile=TILE, study=study)
    named, default = (np.asarray(Image.open(res[k]).convert("RGB")) for k in ("named", "default"))
    # the named sheet: subject 5 alone; the default one: every subject with strips here (0, 1 from the rows, 5 on disk)
    block = mod.sheet_size(3, 2, TILE, 1)[0] - mod.sheet_size(3, 1, TILE, 1)[0]  # px per subject
    assert default.shape[0] - named.shape[0] == 2 * block
    for sheet in (named, default):  # the borrowed strip's three views, upscaled to TILE px each
        assert np.all(sheet == borrowed_colour, axis=-1).sum() >= 3 * TILE * TILE // 2
