"""The lighting-ablation contact sheet (benchmarks/lighting_ablation_sheet.py): layout, bad rows, output checks."""

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from benchmarks.lighting_ablation_sheet import lighting_sheet, main, read_fits
from gasp_ops.errors import GaspInputError

H = 16


def _strip(value: int) -> str:
    buf = io.BytesIO()
    Image.fromarray(np.full((H, 3 * H, 3), value, np.uint8)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def _row(prior: str, light: str | None, shade: int, subject: int = 7) -> dict:
    row = {"subject": subject, "prior": prior, "psnr_novel": 20.0 + shade / 100, "psnr_back": 18.0,
           "sheet": _strip(shade), "sheet_truth": _strip(200 if light == "uniform" else 100)}
    if light:
        row["light"] = light
    return row


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_sheet_has_one_block_per_light_and_the_truth_of_each(tmp_path):
    own = _write(tmp_path / "own.jsonl", [_row("a", None, 10), _row("b", None, 30), _row("a", None, 10, subject=8)])
    uni = _write(tmp_path / "uni.jsonl", [_row("a", "uniform", 50), _row("b", "uniform", 70)])
    fits = read_fits([own, uni], 7)
    assert set(fits) == {("own", "a"), ("own", "b"), ("uniform", "a"), ("uniform", "b")}
    sheet = lighting_sheet(fits, 7, ["a", "b"])
    assert sheet.dtype == np.uint8 and sheet.ndim == 3
    # 2 lights x 3 views = 6 rows of H px, 3 columns (a, b, truth) of H px, plus padding and labels.
    assert sheet.shape[0] >= 6 * H and sheet.shape[1] >= 3 * H
    out = tmp_path / "sheet.png"
    main([str(own), str(uni), "--subject", "7", "--priors", "a,b", "--out", str(out)])
    png = np.asarray(Image.open(out).convert("RGB"))
    assert png.shape == sheet.shape
    # The truth column holds each light's own truth (100 for the own light, 200 for uniform light).
    values = set(np.unique(png[..., 0]).tolist())
    assert {100, 200} <= values


def test_missing_strip_repeated_row_and_overwriting_an_input_are_one_line_errors(tmp_path, capsys):
    bare = _row("a", None, 10)
    del bare["sheet"]
    rows = _write(tmp_path / "rows.jsonl", [bare])
    with pytest.raises(GaspInputError, match="prior a: no sheet strip"):
        lighting_sheet(read_fits([rows], 7), 7, ["a"])
    with pytest.raises(GaspInputError, match="prior b: no row"):
        lighting_sheet(read_fits([_write(tmp_path / "one.jsonl", [_row("a", None, 10)])], 7), 7, ["a", "b"])
    twice = _write(tmp_path / "twice.jsonl", [_row("a", None, 10), _row("a", "own", 20)])
    with pytest.raises(GaspInputError, match="twice.jsonl:2: second row for light own, prior a"):
        read_fits([twice], 7)
    with pytest.raises(SystemExit):
        main([str(rows), "--subject", "7", "--priors", "a", "--out", str(tmp_path / "rows.png")])
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no sheet strip" in err and err.count("\n") == 1
    assert not (tmp_path / "rows.png").exists()
    good = _write(tmp_path / "good.png", [_row("a", None, 10)])  # a rows file that looks like the output
    before = good.read_bytes()
    with pytest.raises(SystemExit):
        main([str(good), "--subject", "7", "--priors", "a", "--out", str(good)])
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and good.read_bytes() == before
